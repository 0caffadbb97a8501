import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { engines, postgresSkip } from '../support/databases.js';

/** The pool size test/support/databases.ts opens PostgreSQL with. */
const POOL_MAX = 10;

/**
 * The load shedder over HTTP, with limits small enough to reach: requests are held in flight
 * by routes that wait on a gate the test opens, or by a database connection blocked on a lock
 * the test holds. No timing: each step waits for what it needs to have happened.
 */

/** A gate a held request waits on, and a count of the requests that reached it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const state = { arrived: 0, waiters: [] as (() => void)[] };
  return {
    opened,
    open,
    arrive() {
      state.arrived++;
      for (const waiter of state.waiters.splice(0)) waiter();
    },
    /** Resolves once `n` requests are being held. */
    async held(n: number) {
      while (state.arrived < n) await new Promise<void>((r) => state.waiters.push(r));
    },
  };
}

function holdRoutes(
  server: FastifyInstance,
  normal: ReturnType<typeof gate>,
  critical: ReturnType<typeof gate>,
) {
  server.get('/test/hold', async () => {
    normal.arrive();
    await normal.opened;
    return { held: 'normal' };
  });
  server.post('/test/hold-critical', { config: { critical: true } }, async () => {
    critical.arrive();
    await critical.opened;
    return { held: 'critical' };
  });
}

function assertOverloaded(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.headers['retry-after'], '1');
  const body = res.json<{
    error: { code: string; message: string };
    meta: { requestId: string };
  }>();
  assert.equal(body.error.code, 'OVERLOADED');
  assert.ok(body.error.message);
  assert.ok(body.meta.requestId);
}

describe('load shedding: normal requests over their in-flight limit', () => {
  const normal = gate();
  const critical = gate();
  let app: StartedApp;
  let token: string;
  const inject = (options: InjectOptions | string) => app.server.inject(options);

  before(async () => {
    app = await startApp(engines[0]!, {
      env: {
        LOAD_SHED_MAX_IN_FLIGHT: '2',
        LOAD_SHED_CRITICAL_IN_FLIGHT: '1',
        LOAD_SHED_RETRY_AFTER_S: '1',
      },
      beforeReady: (server) => holdRoutes(server, normal, critical),
    });
    token = (await createUserAndLogin(app.server, app.services)).accessToken;
  });
  after(() => app.close());

  it('when the normal share is full, then normal requests are refused at once and the rest still answer, and all recovers once it drains', async () => {
    const held = [inject('/test/hold'), inject('/test/hold')];
    await normal.held(2);

    // Refused before authentication: a bad token is not even looked at.
    assertOverloaded(await inject({ url: '/api/v1/users/me', headers: bearer(token) }));
    assertOverloaded(await inject({ url: '/api/v1/users/me', headers: bearer('not-a-token') }));
    // GraphQL answers it in its own error shape, with the same status, header and code.
    const graphql = await inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: '{ me { id } }' },
    });
    assert.equal(graphql.statusCode, 503, graphql.body);
    assert.equal(graphql.headers['retry-after'], '1');
    const errors = graphql.json<{ errors: { extensions: { code: string } }[] }>().errors;
    assert.deepEqual(
      errors.map((e) => e.extensions.code),
      ['OVERLOADED'],
    );

    // Health and metrics are never shed.
    assert.equal((await inject('/health/live')).statusCode, 200);
    assert.equal((await inject('/health/ready')).statusCode, 200);
    const metrics = await inject('/metrics');
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /stratum_load_shed_total\{class="normal"\} 3/);

    // A critical route is admitted from its own share: the refresh answers as it would
    // (a bad refresh token is 401), not 503.
    const refresh = await inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: 'not-a-refresh-token' },
    });
    assert.notEqual(refresh.statusCode, 503, refresh.body);
    assert.equal(refresh.statusCode, 401, refresh.body);

    // Nothing admitted fails: the held requests complete.
    normal.open();
    for (const res of await Promise.all(held)) {
      assert.equal(res.statusCode, 200, res.body);
    }
    // Recovered: the same request is admitted again.
    const me = await inject({ url: '/api/v1/users/me', headers: bearer(token) });
    assert.equal(me.statusCode, 200, me.body);
  });

  it('when the critical share is full, then critical requests are refused and normal ones still pass', async () => {
    const held = inject({ method: 'POST', url: '/test/hold-critical' });
    await critical.held(1);
    assertOverloaded(
      await inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: 'not-a-refresh-token' },
      }),
    );
    const me = await inject({ url: '/api/v1/users/me', headers: bearer(token) });
    assert.equal(me.statusCode, 200, me.body);
    const metrics = await inject('/metrics');
    assert.match(metrics.body, /stratum_load_shed_total\{class="critical"\} 1/);
    critical.open();
    assert.equal((await held).statusCode, 200);
    assert.notEqual(
      (
        await inject({
          method: 'POST',
          url: '/api/v1/auth/refresh',
          payload: { refreshToken: 'not-a-refresh-token' },
        })
      ).statusCode,
      503,
    );
  });
});

describe('load shedding: requests queued for a database connection', { skip: postgresSkip }, () => {
  let app: StartedApp;

  before(async () => {
    app = await startApp(
      engines.find((e) => e.name === 'postgres')!,
      {
        env: { LOAD_SHED_POOL_WAITING: '1' },
        beforeReady: (server) => {
          server.get('/test/db', async () => {
            await sql`select 1`.execute(app.database.db);
            return { queried: true };
          });
        },
      },
    );
  });
  after(() => app.close());

  it('when more requests wait for a connection than LOAD_SHED_POOL_WAITING, then normal ones are refused until the queue drains', async () => {
    // Every pooled connection checked out and held until the gate opens.
    const release = gate();
    const holders: Promise<void>[] = [];
    while (app.database.poolStats().total < POOL_MAX || app.database.poolStats().idle > 0) {
      holders.push(
        app.database.db.connection().execute(async () => {
          release.arrive();
          await release.opened;
        }),
      );
      await release.held(holders.length);
    }
    const queued = [app.server.inject('/test/db'), app.server.inject('/test/db')];
    while (app.database.poolStats().waiting < 2) await new Promise((r) => setImmediate(r));

    assertOverloaded(await app.server.inject('/test/db'));
    assertOverloaded(await app.server.inject('/api/v1/posts'));
    assert.equal((await app.server.inject('/health/live')).statusCode, 200);

    release.open();
    await Promise.all(holders);
    for (const res of await Promise.all(queued)) assert.equal(res.statusCode, 200, res.body);
    assert.equal((await app.server.inject('/test/db')).statusCode, 200);
  });
});
