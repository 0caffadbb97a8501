import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { postgresSkip } from '../support/databases.js';
import { eventually } from '../support/time.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';
import {
  connectionRefused,
  httpGet,
  openRawConnection,
  startService,
  statusOf,
  waitUntilReady,
  type RunningService,
} from '../support/service-process.js';

/*
 * The real process on a real socket: SIGTERM, the drain, in-flight requests, request timeouts.
 * On PostgreSQL when it is reachable (faster start), else embedded in a temporary data folder.
 */

function postRegisterHead(body: string) {
  return (
    'POST /api/v1/auth/register HTTP/1.1\r\nHost: stratum.test\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`
  );
}

describe('the HTTP process', { timeout: 180_000 }, () => {
  let scratch: ScratchDatabase | undefined;
  let dataDir: string | undefined;
  let service: RunningService | undefined;

  before(async () => {
    if (postgresSkip === undefined) scratch = await createScratchDatabase();
    // Always its own folder: the service writes mail (and the embedded database) there.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-shutdown-'));
  });
  afterEach(() => service?.kill());
  after(async () => {
    await scratch?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string>) {
    const database: Record<string, string> = scratch
      ? { DATABASE_URL: scratch.url, MIGRATE_ON_START: 'true', DATA_DIR: dataDir! }
      : { DATA_DIR: dataDir! };
    // The first embedded start creates the database cluster: allow for it.
    service = await startService({ ...database, ...env }, 90_000);
    await waitUntilReady(service.port);
    return service;
  }

  it('when SIGTERM arrives during a request, then that request completes, new connections are refused and the process exits 0', async () => {
    // The arrival of a request is logged at debug: the request log's one line comes at the end.
    const svc = await start({ SHUTDOWN_TIMEOUT_MS: '5000', LOG_LEVEL: 'debug' });
    const body = JSON.stringify({
      name: 'In Flight',
      email: `inflight-${randomUUID()}@example.com`,
      password: 'in flight password',
    });
    const client = await openRawConnection(svc.port);
    client.write(postRegisterHead(body) + body.slice(0, 10));
    await svc.waitForLog(/"msg":"incoming request"/);

    const signalledAt = Date.now();
    svc.signal('SIGTERM');
    await svc.waitForLog(/"msg":"shutting down"/);
    await eventually(() => connectionRefused(svc.port), {
      what: 'refusing new connections',
      timeoutMs: 2_000,
      intervalMs: 50,
    });

    // The client keeps its connection open, as a keep-alive client would.
    client.write(body.slice(10));
    const response = await client.closed;
    assert.equal(statusOf(response), 201, response);
    assert.match(response, /^connection: close$/im);

    const exit = await svc.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - signalledAt < 5_000, 'exited within SHUTDOWN_TIMEOUT_MS');
  });

  it('when SHUTDOWN_DRAIN_MS is set, then readiness answers 503 during the drain while liveness stays 200', async () => {
    const svc = await start({ SHUTDOWN_DRAIN_MS: '3000', SHUTDOWN_TIMEOUT_MS: '10000' });
    const signalledAt = Date.now();
    svc.signal('SIGTERM');
    await svc.waitForLog(/"msg":"shutting down"/);

    const ready = await httpGet(svc.port, '/health/ready');
    const live = await httpGet(svc.port, '/health/live');
    assert.ok(Date.now() - signalledAt < 3_000, 'both answered during the drain');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, {
      data: { status: 'unavailable', checks: { process: 'shutting down', database: 'ok' } },
      meta: (ready.body as { meta: unknown }).meta,
    });
    assert.equal(live.status, 200);

    assert.deepEqual(await svc.exited, { code: 0, signal: null });
    assert.ok(Date.now() - signalledAt >= 3_000, 'kept serving for the whole drain');
  });

  it('when a client trickles its body slower than REQUEST_TIMEOUT_MS, then the server answers 408 and closes the connection', async () => {
    const svc = await start({ REQUEST_TIMEOUT_MS: '1000' });
    const body = JSON.stringify({
      name: 'Slow Loris',
      email: `slow-${randomUUID()}@example.com`,
      password: 'slow loris password',
    });
    const client = await openRawConnection(svc.port);
    const sentAt = Date.now();
    client.write(postRegisterHead(body));
    let next = 0;
    const trickle = setInterval(() => client.write(body.charAt(next++)), 200);
    try {
      const response = await client.closed;
      const elapsed = Date.now() - sentAt;
      assert.ok(next < body.length, 'cut off before the body was complete');
      assert.ok(elapsed >= 900 && elapsed < 5_000, `closed after ${elapsed} ms`);
      const status = statusOf(response);
      assert.ok(status === undefined || status === 408, `answered ${status}`);
    } finally {
      clearInterval(trickle);
      client.destroy();
    }

    svc.signal('SIGTERM');
    assert.deepEqual(await svc.exited, { code: 0, signal: null });
  });
});
