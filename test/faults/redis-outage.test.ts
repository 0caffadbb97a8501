import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { outboxRowsFor } from '../support/jobs.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';
import { startService, waitUntilReady, type RunningService } from '../support/service-process.js';
import { sleep } from '../support/time.js';
import { dataOf, HttpClient } from './support/http-client.js';
import { startLoad, type Load } from './support/load.js';
import { bearer, register, signUp, type Member } from './support/members.js';
import {
  emailJobsSettled,
  noResponse,
  serverErrors,
  startedBetween,
  summarize,
  timeUntil,
} from './support/outcomes.js';
import { faultSkip, startStack, type FaultStack } from './support/stack.js';

/*
 * Redis goes away under a steady load of reads, profile edits and registrations, and comes
 * back. PostgreSQL is the source of truth, so nothing a client asks for may fail meanwhile.
 */

const RATE_LIMIT_MAX = 150;

describe('Redis stopped during a steady load', { skip: faultSkip, timeout: 170_000 }, () => {
  let stack: FaultStack;
  let api: RunningService | undefined;
  let worker: WorkerProcess | undefined;
  let client: HttpClient | undefined;
  let load: Load | undefined;

  before(async () => {
    stack = await startStack({
      // Each registration comes from its own address, so the limiter keys them apart.
      TRUST_PROXY: 'true',
      RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      RATE_LIMIT_WINDOW_MS: '600000',
    });
    api = await startService(stack.env, 90_000);
    await waitUntilReady(api.port, 60_000);
    worker = spawnWorker({ ...stack.env, MIGRATE_ON_START: 'false' });
    await worker.waitForLog(/worker started/, 90_000);
  });
  after(async () => {
    await load?.stop();
    client?.close();
    api?.kill();
    worker?.signal('SIGKILL');
    await stack?.close();
  });

  it('when Redis stops, then reads and writes answer from PostgreSQL, the limiter lets requests through, registrations wait in the outbox, and each email arrives once after Redis returns', async (t: TestContext) => {
    const http = (client = new HttpClient(api!.port));
    const me = (m: Member) => http.request('GET', '/api/v1/users/me', { headers: bearer(m.token) });
    const [readers, editors] = [
      await Promise.all([1, 2].map((i) => signUp(http, `10.1.0.${i}`))),
      await Promise.all([1, 2].map((i) => signUp(http, `10.2.0.${i}`))),
    ];
    const registered = [...readers, ...editors].map((m) => m.email);
    const lastName = new Map<string, string>();

    // A caller over the limit while Redis is up: refused, as documented.
    const probe = await signUp(http, '10.3.0.1');
    for (let i = 0; i < RATE_LIMIT_MAX; i++) await me(probe);
    assert.equal((await me(probe)).status, 429, 'the limiter holds while Redis is up');

    let next = 0;
    load = startLoad(6, 25, async (loop) => {
      if (loop < 2) {
        const reader = readers[loop]!;
        await http.request('GET', `/api/v1/users/${reader.id}`, { headers: bearer(reader.token) });
      } else if (loop < 4) {
        const editor = editors[loop - 2]!;
        const name = `Edit ${next++}`;
        const res = await http.request('PATCH', `/api/v1/users/${editor.id}`, {
          headers: bearer(editor.token),
          body: { name },
        });
        if (res.status === 200) lastName.set(editor.id, name);
      } else {
        const email = `fault-${randomUUID()}@example.com`;
        const res = await register(http, email, `10.4.${loop}.${next++ % 250}`);
        if (res.status === 201) registered.push(email);
      }
    });

    await sleep(2_000);
    const downAt = Date.now();
    await stack.redis.stop();
    const inOutage: string[] = [];
    const registeredBefore = registered.length;
    // Once the clients have noticed: the limiter stands aside (skipOnError), readiness says why.
    await sleep(1_500);
    const overLimit = await me(probe);
    assert.equal(overLimit.status, 200, 'over the limit, yet let through while Redis is down');
    const ready = await http.request('GET', '/health/ready');
    assert.equal(ready.status, 503);
    assert.notEqual(dataOf<{ checks: Record<string, string> }>(ready).checks.redis, 'ok');
    await sleep(3_000);
    inOutage.push(...registered.slice(registeredBefore));

    const db = stack.database().db;
    for (const email of inOutage) {
      const rows = await outboxRowsFor(db, email);
      assert.equal(rows.length, 1, `one outbox row for ${email}`);
      assert.equal(rows[0]!.sent_at, null, 'the job waits in the outbox');
    }
    assert.equal(
      stack.smtp.messages.filter((m) => inOutage.includes(m.to)).length,
      0,
      'nothing of the outage was sent yet',
    );

    const upAt = Date.now();
    await stack.redis.start();
    const readyAfterMs = await timeUntil(
      async () => (await http.request('GET', '/health/ready')).status === 200,
      'readiness after Redis returns',
    );
    await sleep(2_000);
    await load.stop();
    await timeUntil(
      () => registered.every((email) => stack.smtp.messages.some((m) => m.to === email)),
      'every welcome email',
    );
    const deliveredAfterMs = Date.now() - upAt;
    // Quiescent (every row relayed, no job queued or running): the email counts below are final.
    await emailJobsSettled(db, stack.redis.url, registered);

    const outcomes = http.outcomes.filter((o) => o.path !== '/health/ready');
    const outage = startedBetween(outcomes, downAt, upAt);
    const loadOutcomes = startedBetween(outcomes, downAt - 2_000, Date.now());
    t.diagnostic(`outage ${upAt - downAt} ms: ${summarize(outage)}`);
    t.diagnostic(
      `ready ${readyAfterMs} ms after Redis returned; all ${registered.length} emails delivered ${deliveredAfterMs} ms after; ${inOutage.length} registered during the outage`,
    );
    assert.deepEqual(serverErrors(loadOutcomes), [], 'no 5xx');
    assert.deepEqual(noResponse(loadOutcomes), [], 'every request answered');
    const ok = (method: string) =>
      outage.filter((o) => o.method === method && o.status >= 200 && o.status < 300).length;
    assert.ok(ok('GET') > 0 && ok('PATCH') > 0 && ok('POST') > 0, summarize(outage));
    assert.ok(inOutage.length > 0, 'registrations happened during the outage');

    for (const email of registered) {
      const mails = stack.smtp.messages.filter((m) => m.to === email);
      assert.equal(mails.length, 1, `exactly one welcome email to ${email}`);
    }
    for (const editor of editors) {
      const res = await http.request('GET', `/api/v1/users/${editor.id}`, {
        headers: bearer(editor.token),
      });
      assert.equal(dataOf<{ name: string }>(res).name, lastName.get(editor.id), 'no lost write');
    }
    assert.equal((await me(probe)).status, 429, 'the limit holds again, its count kept');
  });
});
