import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REVOCATION_MIRROR } from '../../src/platform/auth/revocations.js';
import { engines } from '../support/databases.js';
import { startTwoApps, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { redisSkip } from '../support/redis.js';
import { eventually } from '../support/time.js';

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
