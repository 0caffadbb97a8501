import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startService, waitUntilReady, type RunningService } from '../support/service-process.js';
import { sleep } from '../support/time.js';
import { HttpClient } from './support/http-client.js';
import { startLoad, type Load } from './support/load.js';
import { bearer, register, signUp } from './support/members.js';
import { summarize } from './support/outcomes.js';
import { faultSkip, startStack, type FaultStack } from './support/stack.js';

/*
 * SIGTERM while keep-alive clients keep the API busy (test/processes/shutdown.test.ts follows
 * one request through it; this is the same under load). A request the server has received must
 * be answered; one it never received (refused, or sent on a connection the server was already
 * closing) is the client's to send elsewhere, and the server's log proves which is which.
 */

interface LogLine {
  msg?: string;
  requestId?: string;
  res?: { statusCode?: number };
}

function parseLog(lines: string[]): LogLine[] {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

describe('SIGTERM during a load', { skip: faultSkip, timeout: 170_000 }, () => {
  let stack: FaultStack;
  let api: RunningService | undefined;
  let client: HttpClient | undefined;
  let load: Load | undefined;

  before(async () => {
    stack = await startStack({ RATE_LIMIT_MAX: '1000000', SHUTDOWN_TIMEOUT_MS: '15000' });
    // Debug: a request's arrival has a line of its own only there (the info line is at the end).
    api = await startService({ ...stack.env, LOG_LEVEL: 'debug' }, 90_000);
    await waitUntilReady(api.port, 60_000);
  });
  after(async () => {
    await load?.stop();
    client?.close();
    api?.kill();
    await stack?.close();
  });

  it('when SIGTERM arrives under load, then every request the server received is answered without a 5xx and the process exits 0', async (t: TestContext) => {
    const svc = api!;
    const http = (client = new HttpClient(svc.port));
    const members = await Promise.all([1, 2, 3, 4].map(() => signUp(http)));
    let next = 0;
    load = startLoad(8, 5, async (loop) => {
      const member = members[loop % members.length]!;
      if (loop < 4) {
        await http.request('GET', `/api/v1/users/${member.id}`, { headers: bearer(member.token) });
      } else if (loop < 6) {
        await http.request('PATCH', `/api/v1/users/${member.id}`, {
          headers: bearer(member.token),
          body: { name: `Edit ${next++}` },
        });
      } else {
        // Slow (argon2): the likeliest to be in flight when the signal lands.
        await register(http, `fault-${randomUUID()}@example.com`);
      }
    });

    await sleep(2_000);
    const signalledAt = Date.now();
    svc.signal('SIGTERM');
    const exit = await svc.exited;
    const exitedAt = Date.now();
    await load.stop();

    const received = new Map<string, LogLine>();
    const completed = new Set<string>();
    for (const line of parseLog(svc.logLines())) {
      if (line.msg === 'incoming request' && line.requestId) received.set(line.requestId, line);
      if (line.msg === 'request completed' && line.requestId) completed.add(line.requestId);
    }
    const inFlight = http.outcomes.filter(
      (o) => o.startedAt < signalledAt && o.startedAt + o.ms > signalledAt,
    );
    const unanswered = http.outcomes.filter((o) => o.status === 0);
    t.diagnostic(
      `exit ${JSON.stringify(exit)} ${exitedAt - signalledAt} ms after SIGTERM; ${inFlight.length} requests in flight at the signal: ${summarize(inFlight)}`,
    );
    const closing = inFlight.filter((o) => o.headers.connection === 'close').length;
    t.diagnostic(
      `${closing} of them answered with connection: close; not received by the server (refused or closed before sending): ${unanswered.length}`,
    );

    assert.deepEqual(exit, { code: 0, signal: null }, svc.stderr());
    assert.ok(inFlight.length > 0, 'the signal landed during requests');
    assert.deepEqual(
      http.outcomes.filter((o) => o.status >= 500),
      [],
      'no 5xx',
    );
    for (const id of received.keys()) assert.ok(completed.has(id), `the server answered ${id}`);
    for (const outcome of unanswered) {
      assert.ok(!received.has(outcome.requestId), `${outcome.requestId} was received, then lost`);
      assert.ok(outcome.startedAt + outcome.ms >= signalledAt, 'only after the signal');
    }
    // Exit 0 also says no kept-alive connection held the close past SHUTDOWN_TIMEOUT_MS.
    for (const outcome of inFlight) {
      assert.ok(outcome.status >= 200 && outcome.status < 300, summarize([outcome]));
    }
  });
});
