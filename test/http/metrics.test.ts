import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { register } from '../support/jobs.js';
import { eventually } from '../support/time.js';
import { deleteQueueKeys, openQueueRedis, uniqueQueuePrefix } from '../support/queues.js';
import { openRedis, redisSkip } from '../support/redis.js';

const postgres = engines.find((e) => e.name === 'postgres')!;
const pglite = engines.find((e) => e.name === 'pglite')!;

/** The value of one sample line, e.g. `name{a="b"} 3`, or undefined when it isn't there. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(
  app: StartedApp,
  headers: Record<string, string> = {},
  remoteAddress?: string,
) {
  return app.server.inject({ method: 'GET', url: '/metrics', headers, remoteAddress });
}

describe('metrics on PostgreSQL + Redis + BullMQ', { skip: postgres.skip ?? redisSkip }, () => {
  let app: StartedApp;
  const redis = (postgres.skip ?? redisSkip) ? undefined : openRedis();
  const queueRedis = (postgres.skip ?? redisSkip) ? undefined : openQueueRedis();
  const prefix = uniqueQueuePrefix();

  before(async () => {
    app = await startApp(postgres, {
      redis,
      queueRedis,
      env: { QUEUE_PREFIX: prefix, RATE_LIMIT_MAX: '30' },
    });
  });
  after(async () => {
    await app.close();
    redis?.disconnect();
    queueRedis?.disconnect();
    await deleteQueueKeys(prefix);
  });

  it('when the service has worked, then /metrics shows requests, cache, pool, outbox, queue and 429s', async () => {
    const user = await createUserAndLogin(app.server, app.services);
    const read = () =>
      app.server.inject({
        method: 'GET',
        url: `/api/v1/users/${user.id}`,
        headers: bearer(user.accessToken),
      });
    assert.equal((await read()).statusCode, 200);
    assert.equal((await read()).statusCode, 200);
    // From an address of its own: other suites' guests share Redis's per-address counters.
    const registered = await app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: {
        name: 'Metered',
        email: `m-${randomUUID()}@example.com`,
        password: 'long enough pw',
      },
      remoteAddress: '10.254.0.1',
    });
    assert.equal(registered.statusCode, 201);
    let limited = 0;
    for (let i = 0; i < 40 && limited === 0; i++) if ((await read()).statusCode === 429) limited++;
    assert.equal(limited, 1, 'the limit of 30 was reached');

    const res = await scrape(app);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const text = res.body;
    const route = { method: 'GET', route: '/api/v1/users/:id', status_code: '200' };
    assert.ok((sample(text, 'stratum_http_request_duration_seconds_count', route) ?? 0) >= 2);
    assert.ok(
      (sample(text, 'stratum_cache_lookups_total', { kind: 'user', result: 'hit' }) ?? 0) >= 1,
    );
    assert.ok(
      (sample(text, 'stratum_cache_lookups_total', { kind: 'user', result: 'miss' }) ?? 0) >= 1,
    );
    assert.ok(sample(text, 'stratum_db_pool_connections', { state: 'idle' }) !== undefined);
    assert.equal(sample(text, 'stratum_db_pool_connections', { state: 'waiting' }), 0);
    assert.equal(sample(text, 'stratum_rate_limit_rejections_total'), 1);
    assert.ok(sample(text, 'stratum_outbox_backlog') !== undefined);
    // No worker runs here: the relay moved the welcome email to the queue, where it waits.
    const waiting = await eventually(
      async () => {
        const value = sample((await scrape(app)).body, 'stratum_queue_jobs', {
          queue: 'email',
          state: 'waiting',
        });
        return value !== undefined && value >= 1 ? value : false;
      },
      { what: 'the queued welcome email' },
    );
    assert.ok(waiting >= 1);
    assert.ok(sample(text, 'stratum_process_resident_memory_bytes')! > 0);
  });
});

describe('metrics without Redis (jobs in process)', { skip: pglite.skip }, () => {
  let app: StartedApp;
  before(async () => {
    app = await startApp(pglite, { env: { OUTBOX_POLL_MS: '50' } });
  });
  after(() => app.close());

  it('when a job has run, then its outcome is counted', async () => {
    await register(app.server);
    await eventually(
      async () =>
        (sample((await scrape(app)).body, 'stratum_jobs_total', {
          type: 'email.welcome',
          outcome: 'completed',
        }) ?? 0) >= 1,
      { what: 'the counted welcome email' },
    );
  });
});

describe('metrics access', { skip: pglite.skip }, () => {
  it('when METRICS_TOKEN is set, then only its bearer may scrape', async () => {
    const app = await startApp(pglite, {
      env: { METRICS_TOKEN: 'a-metrics-token-of-some-length' },
    });
    try {
      assert.equal((await scrape(app)).statusCode, 401);
      assert.equal((await scrape(app, bearer('wrong-token-of-some-length-xx'))).statusCode, 401);
      assert.equal((await scrape(app, bearer('a-metrics-token-of-some-length'))).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  it('when METRICS_ALLOW is set, then only those addresses may scrape', async () => {
    const app = await startApp(pglite, { env: { METRICS_ALLOW: '10.0.0.0/8' } });
    try {
      const refused = await scrape(app, {}, '192.0.2.1');
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json<{ error: { code: string } }>().error.code, 'FORBIDDEN');
      assert.equal((await scrape(app, {}, '10.1.2.3')).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  it('when in production with no settings, then only the machine itself may scrape', async () => {
    const app = await startApp(pglite, { env: { NODE_ENV: 'production' } });
    try {
      assert.equal((await scrape(app, {}, '192.0.2.1')).statusCode, 403);
      assert.equal((await scrape(app, {}, '127.0.0.1')).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  it('when METRICS_ENABLED is false, then there is no /metrics', async () => {
    const app = await startApp(pglite, { env: { METRICS_ENABLED: 'false' } });
    try {
      assert.equal((await scrape(app)).statusCode, 404);
    } finally {
      await app.close();
    }
  });
});
