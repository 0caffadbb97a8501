import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, startTwoApps, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';
import { openRedis } from '../support/redis.js';
import { cacheSetups } from '../support/setups.js';

/**
 * Password guessing is bounded wherever a password is checked. Only a verified password
 * answers 401 (login) or 403 (currentPassword); a reservation refused before verification is
 * 429. So the number of 401/403 answers is the number of passwords verified.
 */

const MAX_PER_ADDRESS = 5;
const MAX_PER_ACCOUNT = 12;
const env = {
  LOGIN_MAX_FAILURES: String(MAX_PER_ADDRESS),
  LOGIN_ACCOUNT_MAX_FAILURES: String(MAX_PER_ACCOUNT),
};

const statusCounts = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>(
    (counts, s) => ({ ...counts, [s]: (counts[s] ?? 0) + 1 }),
    {},
  );

function loginFrom(server: FastifyInstance, email: string, password: string, address: string) {
  return server.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    remoteAddress: address,
  });
}

let addresses = 0;
/** An address no other test uses. */
const freshAddress = () => {
  addresses++;
  return `10.77.${Math.floor(addresses / 250)}.${(addresses % 250) + 1}`;
};

for (const setup of cacheSetups) {
  describe(`login throttle on ${setup.name}`, { skip: setup.skip }, () => {
    let app: StartedApp;
    const redis = setup.redis && !setup.skip ? openRedis() : undefined;
    before(async () => {
      app = await startApp(setup.engine, { env, redis });
    });
    after(async () => {
      await app.close();
      redis?.disconnect();
    });

    const newUser = () => createUserAndLogin(app.server, app.services);

    it('when 100 wrong passwords arrive at once from one address, then at most LOGIN_MAX_FAILURES are verified', async () => {
      const user = await newUser();
      const address = freshAddress();
      const responses = await Promise.all(
        Array.from({ length: 100 }, () =>
          loginFrom(app.server, user.email, 'wrong password!', address),
        ),
      );
      const counts = statusCounts(responses.map((r) => r.statusCode));
      assert.deepEqual(counts, { 401: MAX_PER_ADDRESS, 429: 100 - MAX_PER_ADDRESS });
      const refused = responses.find((r) => r.statusCode === 429)!;
      assert.equal(refused.json<{ error: { code: string } }>().error.code, 'RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) > 0);
      // The right password from that address waits too: the budget is spent, not reset by it.
      const right = await loginFrom(app.server, user.email, user.password, address);
      assert.equal(right.statusCode, 429);
    });

    it('when the email comes in another case, then it spends the same budget', async () => {
      const user = await newUser();
      const address = freshAddress();
      const spellings = [user.email, user.email.toUpperCase()];
      const statuses: number[] = [];
      for (let i = 0; i < MAX_PER_ADDRESS + 2; i++) {
        const res = await loginFrom(app.server, spellings[i % 2]!, 'wrong password!', address);
        statuses.push(res.statusCode);
      }
      assert.deepEqual(statusCounts(statuses), { 401: MAX_PER_ADDRESS, 429: 2 });
    });

    it('when guesses rotate over many addresses, then the account-wide budget stops them', async () => {
      const user = await newUser();
      const responses = await Promise.all(
        Array.from({ length: 60 }, () =>
          loginFrom(app.server, user.email, 'wrong password!', freshAddress()),
        ),
      );
      const counts = statusCounts(responses.map((r) => r.statusCode));
      assert.deepEqual(counts, { 401: MAX_PER_ACCOUNT, 429: 60 - MAX_PER_ACCOUNT });
      // A new address, even with the right password, waits for the window...
      const stranger = await loginFrom(app.server, user.email, user.password, freshAddress());
      assert.equal(stranger.statusCode, 429);
    });

    it('when the account is under attack, then an address it signed in from before still gets in', async () => {
      const user = await newUser();
      const home = freshAddress();
      const signedIn = await loginFrom(app.server, user.email, user.password, home);
      assert.equal(signedIn.statusCode, 200);
      for (let i = 0; i < MAX_PER_ACCOUNT + 5; i++) {
        await loginFrom(app.server, user.email, 'wrong password!', freshAddress());
      }
      const fromHome = await loginFrom(app.server, user.email, user.password, home);
      assert.equal(fromHome.statusCode, 200, fromHome.body);
      // ...and its session goes on: refreshing needs no password.
      const refreshed = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: user.refreshToken },
      });
      assert.equal(refreshed.statusCode, 200);
    });

    it('when logins succeed many times from new addresses, then the account budget is not spent', async () => {
      const user = await newUser();
      for (let i = 0; i < MAX_PER_ACCOUNT + 3; i++) {
        const res = await loginFrom(app.server, user.email, user.password, freshAddress());
        assert.equal(res.statusCode, 200, `login ${i}: ${res.body}`);
      }
    });

    it('when an unknown email is guessed, then it is throttled exactly like a known one', async () => {
      const address = freshAddress();
      const email = `nobody-${randomUUID()}@example.com`;
      const statuses: number[] = [];
      for (let i = 0; i < MAX_PER_ADDRESS + 1; i++) {
        statuses.push((await loginFrom(app.server, email, 'wrong password!', address)).statusCode);
      }
      assert.deepEqual(statusCounts(statuses), { 401: MAX_PER_ADDRESS, 429: 1 });
    });

    it('when a stolen token guesses the current password at once, then at most the budget is verified', async () => {
      const user = await newUser();
      const responses = await Promise.all(
        Array.from({ length: 40 }, () =>
          app.server.inject({
            method: 'PATCH',
            url: `/api/v1/users/${user.id}`,
            headers: bearer(user.accessToken),
            payload: { password: 'a brand new password', currentPassword: 'not the password' },
            remoteAddress: '10.78.0.1',
          }),
        ),
      );
      const counts = statusCounts(responses.map((r) => r.statusCode));
      assert.deepEqual(counts, { 403: MAX_PER_ADDRESS, 429: 40 - MAX_PER_ADDRESS });
    });
  });
}

describe('login throttle across two API processes', { skip: cacheSetups[0]!.skip }, () => {
  let apps: Awaited<ReturnType<typeof startTwoApps>>;
  let user: TestUser;
  before(async () => {
    apps = await startTwoApps(cacheSetups[0]!.engine, { env });
    user = await createUserAndLogin(apps.first.server, apps.first.services);
  });
  after(() => apps.close());

  it('when a burst is split over both processes, then together they verify at most the budget', async () => {
    const address = freshAddress();
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        loginFrom(
          (i % 2 ? apps.first : apps.second).server,
          user.email,
          'wrong password!',
          address,
        ),
      ),
    );
    const counts = statusCounts(responses.map((r) => r.statusCode));
    assert.deepEqual(counts, { 401: MAX_PER_ADDRESS, 429: 60 - MAX_PER_ADDRESS });
  });
});
