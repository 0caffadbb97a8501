import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RedisClient } from '../../src/platform/redis/connect.js';
import { connectRedis } from '../../src/composition/dependencies.js';
import { REVOCATION_MIRROR } from '../../src/platform/auth/revocations.js';
import { engines } from '../support/databases.js';
import { startApp, startTwoApps, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { startRedisProxy } from '../support/queues.js';
import { onCluster, openRedis, redisSkip } from '../support/redis.js';
import { eventually, sleep } from '../support/time.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const skip = engine.skip ?? redisSkip;

describe('access-token revocation across API processes', { skip }, () => {
  let first: StartedApp;
  let second: StartedApp;
  let close: () => Promise<void>;

  before(async () => {
    ({ first, second, close } = await startTwoApps(engine));
  });
  after(() => close());

  it('when a user logs out through one process, then the other refuses the token within the bound', async () => {
    const user = await createUserAndLogin(first.server, first.services);
    const me = (app: StartedApp) =>
      app.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: bearer(user.accessToken),
      });
    assert.equal((await me(second)).statusCode, 200);

    const logout = await first.server.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(user.accessToken),
    });
    assert.equal(logout.statusCode, 204, logout.body);
    const loggedOutAt = performance.now();
    assert.equal((await me(first)).statusCode, 401, 'the revoking process refuses at once');

    await eventually(async () => (await me(second)).statusCode === 401, {
      what: 'the other process refusing the token',
      timeoutMs: REVOCATION_MIRROR.staleAfterMs * 3,
      intervalMs: 5,
    });
    const refusedAfterMs = performance.now() - loggedOutAt;
    const res = await me(second);
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'INVALID_TOKEN');
    assert.ok(
      refusedAfterMs <= REVOCATION_MIRROR.staleAfterMs,
      `refused after ${refusedAfterMs} ms`,
    );
  });
});

// A proxy in front of one server: a cluster client follows its nodes instead, so this is the
// single-server suite's.
if (!onCluster) {
  describe('access-token revocation while Redis is away', { skip }, () => {
    let proxy: Awaited<ReturnType<typeof startRedisProxy>>;
    let first: StartedApp;
    let second: StartedApp;
    const connections: RedisClient[] = [];
    const through = (url: string) => {
      const redis = connectRedis({ kind: 'single', url }, 'fail-fast', {
        connectTimeoutMs: 500,
        commandTimeoutMs: 500,
      });
      connections.push(redis);
      return redis;
    };

    before(async () => {
      proxy = await startRedisProxy();
      // Both processes reach Redis through the proxy: taking it down is Redis stopping for them.
      first = await startApp(engine, { redis: through(proxy.url) });
      second = await startApp(engine, { redis: through(proxy.url), database: first.database });
    });
    after(async () => {
      await second?.close();
      await first?.close();
      for (const c of connections) c.disconnect();
      await proxy?.close();
    });

    it('when a session ends while Redis is down, then no process accepts its token during the outage or after Redis returns', async () => {
      const user = await createUserAndLogin(first.server, first.services);
      const other = await createUserAndLogin(first.server, first.services);
      const me = (app: StartedApp, token: string) =>
        app.server.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(token) });
      assert.equal((await me(second, user.accessToken)).statusCode, 200);

      await proxy.down();
      const logout = await first.server.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(user.accessToken),
      });
      assert.equal(logout.statusCode, 204, logout.body);
      assert.equal((await me(second, user.accessToken)).statusCode, 401, 'refused during');
      assert.equal((await me(second, other.accessToken)).statusCode, 200, 'others still served');

      await proxy.up();
      // A process started after the outage knows only what Redis and the database tell it.
      const third = await startApp(engine, { redis: through(proxy.url), database: first.database });
      try {
        for (let i = 0; i < 20; i++) {
          for (const app of [first, second, third]) {
            assert.equal((await me(app, user.accessToken)).statusCode, 401, 'refused after');
          }
          await sleep(25);
        }
        const inRedis = openRedis();
        connections.push(inRedis);
        const { sid } = JSON.parse(
          Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString(),
        ) as { sid: string };
        await eventually(
          async () => (await inRedis.zscore('stratum:v1:deny', `sid:${sid}`)) !== null,
          { what: 'the revocation written back to Redis', timeoutMs: 5_000 },
        );
        assert.equal((await me(third, other.accessToken)).statusCode, 200);
      } finally {
        await third.close();
      }
    });
  });
}
