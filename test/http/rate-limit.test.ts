import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { engines } from '../support/databases.js';
import { startTwoApps, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { redisSkip } from '../support/redis.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const LIMIT = 5;
/** A fresh client address per test, so counts left in Redis by earlier runs don't matter. */
const randomAddress = () => `10.${randomInt(255)}.${randomInt(255)}.${randomInt(1, 255)}`;

describe('global rate limit shared through Redis', { skip: engine.skip ?? redisSkip }, () => {
  let first: StartedApp;
  let second: StartedApp;
  let close: () => Promise<void>;

  before(async () => {
    const env = { RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_MS: '60000' };
    ({ first, second, close } = await startTwoApps(engine, { env }));
  });
  after(() => close());

  it('when one client spreads requests over two instances, then the limit holds across both', async () => {
    const remoteAddress = randomAddress();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      const app = i % 2 === 0 ? first : second;
      const res = await app.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        remoteAddress,
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        assert.equal(res.json<{ error: { code: string } }>().error.code, 'RATE_LIMITED');
        assert.ok(Number(res.headers['retry-after']) > 0);
        assert.equal(res.headers['ratelimit-limit'], String(LIMIT));
        assert.equal(res.headers['ratelimit-remaining'], '0');
      }
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
  });

  it('when one client sends many requests at once to both instances, then exactly the limit passes, each with its own count', async () => {
    const remoteAddress = randomAddress();
    const responses = await Promise.all(
      Array.from({ length: LIMIT * 4 }, (_, i) =>
        (i % 2 === 0 ? first : second).server.inject({
          method: 'GET',
          url: '/api/v1/users/me',
          remoteAddress,
        }),
      ),
    );
    const passed = responses.filter((res) => res.statusCode !== 429);
    assert.equal(passed.length, LIMIT);
    const remaining = passed.map((res) => Number(res.headers['ratelimit-remaining'])).sort();
    assert.deepEqual(remaining, [0, 1, 2, 3, 4]);
  });

  it('when X-Forwarded-For is sent without TRUST_PROXY, then it does not change the key', async () => {
    const remoteAddress = randomAddress();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      const res = await first.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        remoteAddress,
        headers: { 'x-forwarded-for': randomAddress() },
      });
      statuses.push(res.statusCode);
    }
    assert.equal(statuses.at(-1), 429);
  });

  it('when a user is signed in, then it is limited per user, not per address', async () => {
    const user = await createUserAndLogin(first.server, first.services);
    const other = await createUserAndLogin(first.server, first.services);
    const remoteAddress = randomAddress();
    const call = (token: string) =>
      second.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        remoteAddress,
        headers: bearer(token),
      });
    for (let i = 0; i < LIMIT; i++) assert.equal((await call(user.accessToken)).statusCode, 200);
    assert.equal((await call(user.accessToken)).statusCode, 429);
    assert.equal(
      (await call(other.accessToken)).statusCode,
      200,
      'another user has its own budget',
    );
  });
});
