import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { connectRedis } from '../../src/platform/redis/connect.js';
import { freePort } from '../support/commands.js';
import {
  startSentinelSetup,
  redisTopologySkip,
  type SentinelSetup,
} from '../support/redis-topologies.js';
import {
  httpGet,
  startService,
  waitUntilReady,
  type RunningService,
} from '../support/service-process.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';
import { dataOf, HttpClient } from '../faults/support/http-client.js';
import { startLoad, type Load } from '../faults/support/load.js';
import { bearer, login, PASSWORD, register, signUp } from '../faults/support/members.js';
import {
  emailJobsSettled,
  noResponse,
  serverErrors,
  summarize,
  timeUntil,
} from '../faults/support/outcomes.js';
import { faultSkip, startStack, type FaultStack } from '../faults/support/stack.js';

/*
 * Redis behind Sentinel fails over twice under load — once on request (SENTINEL FAILOVER), once
 * by the master dying (SIGKILL) — while two API processes and a worker keep serving. Emails are
 * registered throughout, sessions signed in and out, a caller held over its rate limit.
 */

const RATE_LIMIT_MAX = 300;
/** A fresh client address: guests are limited per address, and these must not be. */
const someAddress = () =>
  `10.7.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
const skip = faultSkip ?? redisTopologySkip();

describe('Redis Sentinel failover under load', { skip, timeout: 240_000 }, () => {
  let sentinel: SentinelSetup;
  let stack: FaultStack;
  let apis: RunningService[] = [];
  let worker: WorkerProcess | undefined;
  let workerPort: number;
  const clients: HttpClient[] = [];
  let load: Load | undefined;

  before(async () => {
    sentinel = await startSentinelSetup();
    workerPort = await freePort();
    stack = await startStack({
      REDIS_URL: '',
      REDIS_SENTINELS: sentinel.sentinels.join(','),
      REDIS_SENTINEL_MASTER: sentinel.master,
      TRUST_PROXY: 'true',
      RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      RATE_LIMIT_WINDOW_MS: '600000',
      WORKER_STUCK_AFTER_MS: '5000',
      // A job active on the master that died is handed on once its lock runs out: soon.
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    });
    apis = [await startService(stack.env, 90_000)];
    await waitUntilReady(apis[0]!.port, 60_000);
    apis.push(await startService({ ...stack.env, MIGRATE_ON_START: 'false' }, 90_000));
    await waitUntilReady(apis[1]!.port, 60_000);
    worker = spawnWorker({
      ...stack.env,
      MIGRATE_ON_START: 'false',
      WORKER_PORT: String(workerPort),
    });
    await worker.waitForLog(/worker started/, 90_000);
  });
  after(async () => {
    await load?.stop();
    for (const c of clients) c.close();
    for (const api of apis) api.kill();
    worker?.signal('SIGKILL');
    await stack?.close();
    await sentinel?.close();
  });

  it('when the master fails over twice, then each email is delivered once, the worker resumes without a restart, no revoked token is accepted, and rate limits return', async (t: TestContext) => {
    const [a, b] = apis.map((api) => {
      const client = new HttpClient(api.port);
      clients.push(client);
      return client;
    }) as [HttpClient, HttpClient];
    const me = (client: HttpClient, token: string) =>
      client.request('GET', '/api/v1/users/me', {
        headers: { ...bearer(token), 'x-forwarded-for': someAddress() },
      });

    const readers = await Promise.all([1, 2].map((i) => signUp(a, `10.1.0.${i}`)));
    const registered = readers.map((m) => m.email);
    // Signed out through one process: every token here must be refused by both, always.
    const revoked: string[] = [];
    const acceptedAfterRevoke: string[] = [];
    const sessionMember = await signUp(a, '10.5.0.1');

    const probe = await signUp(a, '10.3.0.1');
    let probeStatus = 0;
    for (let i = 0; i <= RATE_LIMIT_MAX && probeStatus !== 429; i++) {
      probeStatus = (await me(a, probe.token)).status;
    }
    assert.equal(probeStatus, 429, 'the limiter holds before the failover');

    let next = 0;
    const loadStartedAt = Date.now();
    load = startLoad(5, 40, async (loop) => {
      if (loop < 2) {
        const reader = readers[loop]!;
        await (loop === 0 ? a : b).request('GET', `/api/v1/users/${reader.id}`, {
          headers: bearer(reader.token),
        });
      } else if (loop < 4) {
        const email = `ha-${randomUUID()}@example.com`;
        const res = await register(loop === 2 ? a : b, email, `10.4.${loop}.${next++ % 250}`);
        if (res.status === 201) registered.push(email);
      } else {
        // Sign in, sign out through A, and ask B (then A) at once with the same token.
        const signedIn = await a.request('POST', '/api/v1/auth/login', {
          body: { email: sessionMember.email, password: PASSWORD },
          headers: { 'x-forwarded-for': someAddress() },
        });
        if (signedIn.status !== 200) return;
        const token = dataOf<{ accessToken: string }>(signedIn).accessToken;
        const out = await a.request('POST', '/api/v1/auth/logout', { headers: bearer(token) });
        if (out.status !== 204) return;
        revoked.push(token);
        for (const client of [b, a]) {
          const res = await me(client, token);
          if (res.status === 200) {
            const at = Date.now() - loadStartedAt;
            acceptedAfterRevoke.push(`${client === a ? 'A' : 'B'} at +${at} ms ${token}`);
          }
        }
      }
    });

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const startedAt = Date.now();
    const failoverAt = startedAt - loadStartedAt;
    await sentinel.failover();
    const firstMs = Date.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const killedAt = Date.now();
    const killAt = killedAt - loadStartedAt;
    await sentinel.killMaster();
    const secondMs = Date.now() - killedAt;
    // Until the dead server is back as a replica, no relayed job is acknowledged by a replica:
    // rows wait in the outbox (REDIS_WAIT_REPLICAS), delayed, not lost.
    await sentinel.restartKilled();

    // Both APIs and the worker come back on the new master by themselves.
    let lastReady = '';
    const readyMs = await timeUntil(
      async () => {
        const [ra, rb] = [
          await a.request('GET', '/health/ready'),
          await b.request('GET', '/health/ready'),
        ];
        lastReady = JSON.stringify([ra.body, rb.body]);
        return ra.status === 200 && rb.status === 200;
      },
      'both APIs ready after the failovers',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answers ${lastReady}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await load.stop();
    const afterFailovers = `ha-after-${randomUUID()}@example.com`;
    assert.equal((await register(a, afterFailovers, '10.6.0.1')).status, 201);
    registered.push(afterFailovers);

    await timeUntil(
      () => registered.every((email) => stack.smtp.messages.some((m) => m.to === email)),
      'every welcome email, by the worker that was never restarted',
      60_000,
    );
    const queueRedis = connectRedis(
      { kind: 'sentinel', sentinels: sentinel.sentinels, master: sentinel.master },
      'queue',
      { connectTimeoutMs: 5_000 },
    );
    try {
      await emailJobsSettled(stack.database().db, queueRedis, registered, 30_000);
    } finally {
      queueRedis.disconnect();
    }
    const workerReady = await httpGet(workerPort, '/health/ready');
    assert.equal(workerReady.status, 200, JSON.stringify(workerReady.body));

    t.diagnostic(
      `(load start +0) failover asked at +${failoverAt} ms, SIGKILL at +${killAt} ms; failover on request ${firstMs} ms, after SIGKILL ${secondMs} ms; ready ${readyMs} ms later; ${registered.length} emails, ${revoked.length} sign-outs`,
    );
    const outcomes = [...a.outcomes, ...b.outcomes].filter((o) => o.path !== '/health/ready');
    assert.deepEqual(serverErrors(outcomes), [], `no 5xx: ${summarize(serverErrors(outcomes))}`);
    assert.deepEqual(noResponse(outcomes), [], 'every request answered');

    // One delivery per email key: the Message-ID carries the outbox row id.
    const ids = stack.smtp.messages.map((m) => m.messageId);
    assert.equal(new Set(ids).size, ids.length, 'no email delivered twice');
    for (const email of registered) {
      assert.equal(stack.smtp.messages.filter((m) => m.to === email).length, 1, email);
    }

    assert.ok(revoked.length > 0, 'sessions were signed out during the load');
    assert.deepEqual(acceptedAfterRevoke, [], 'no revoked token accepted during the failovers');
    for (const token of revoked) {
      for (const client of [a, b]) {
        assert.equal((await me(client, token)).status, 401, 'no revoked token accepted after');
      }
    }

    // The limiter counts again on the new master (its count may be lost with the old one).
    const fresh = await login(a, probe.email);
    let status = 0;
    for (let i = 0; i <= RATE_LIMIT_MAX + 1 && status !== 429; i++) {
      status = (await me(a, fresh.accessToken)).status;
    }
    assert.equal(status, 429, 'rate limits return after the failover');
  });
});
