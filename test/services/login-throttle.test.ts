import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { RedisClient } from '../../src/platform/redis/connect.js';
import {
  LoginThrottle,
  MemoryAttemptStore,
  RedisAttemptStore,
  type AttemptStore,
  type ThrottleLimits,
} from '../../src/platform/auth/login-throttle.js';
import { AppError } from '../../src/platform/errors.js';
import { openRedis, redisSkip } from '../support/redis.js';
import { sleep } from '../support/time.js';

const limits: ThrottleLimits = {
  maxPerAddress: 3,
  maxPerAccount: 5,
  windowMs: 60_000,
  familiarMs: 60_000,
};

const fail = async (): Promise<true | undefined> => undefined;
const pass = async (): Promise<true | undefined> => true;

async function outcome(throttle: LoginThrottle, email: string, ip: string, verify = fail) {
  try {
    return (await throttle.guard(email, ip, verify)) ? 'ok' : 'wrong';
  } catch (err) {
    assert.ok(err instanceof AppError && err.statusCode === 429, String(err));
    return 'throttled';
  }
}

const connections: RedisClient[] = [];
after(() => connections.forEach((redis) => redis.disconnect()));

const stores: { name: string; skip?: string; make: () => AttemptStore }[] = [
  { name: 'memory', make: () => new MemoryAttemptStore() },
  {
    name: 'Redis',
    skip: redisSkip,
    make: () => {
      const redis = openRedis();
      connections.push(redis);
      return new RedisAttemptStore(redis, `stratum:test:${randomUUID()}:`);
    },
  },
];

for (const store of stores) {
  describe(`the attempt store in ${store.name}`, { skip: store.skip }, () => {
    it('when an address spends its budget, then further attempts are refused before verifying', async () => {
      const throttle = new LoginThrottle(store.make(), limits);
      let verified = 0;
      const counting = async (): Promise<true | undefined> => {
        verified++;
        return undefined;
      };
      const results = await Promise.all(
        Array.from({ length: 20 }, () => outcome(throttle, 'a@x.io', '1.1.1.1', counting)),
      );
      assert.equal(verified, limits.maxPerAddress);
      assert.equal(results.filter((r) => r === 'throttled').length, 20 - limits.maxPerAddress);
      // Another account from that address has its own budget.
      assert.equal(await outcome(throttle, 'b@x.io', '1.1.1.1'), 'wrong');
    });

    it('when a password is right, then its address starts again and becomes familiar', async () => {
      const throttle = new LoginThrottle(store.make(), limits);
      await outcome(throttle, 'a@x.io', 'home');
      await outcome(throttle, 'a@x.io', 'home');
      assert.equal(await outcome(throttle, 'a@x.io', 'home', pass), 'ok');
      // Both failures from home count against the account; the success gave back only itself.
      for (let i = 0; i < limits.maxPerAccount - 2; i++) {
        assert.equal(await outcome(throttle, 'a@x.io', `elsewhere-${i}`), 'wrong');
      }
      assert.equal(await outcome(throttle, 'a@x.io', 'new place', pass), 'throttled');
      assert.equal(await outcome(throttle, 'a@x.io', 'home', pass), 'ok');
    });

    it('when the window ends, then the budgets are whole again', async (t) => {
      // The memory store reads Date.now(): mocked, its window ends at a tick. The Redis store's
      // windows expire on Redis's clock (PX), which only real time moves.
      if (store.name === 'memory') t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
      const passTime = async (ms: number) =>
        store.name === 'memory' ? t.mock.timers.tick(ms) : await sleep(ms);
      const short = { ...limits, windowMs: 300 };
      const throttle = new LoginThrottle(store.make(), short);
      for (let i = 0; i < short.maxPerAddress; i++) await outcome(throttle, 'a@x.io', 'ip');
      assert.equal(await outcome(throttle, 'a@x.io', 'ip'), 'throttled');
      await passTime(400);
      assert.equal(await outcome(throttle, 'a@x.io', 'ip'), 'wrong');
    });
  });
}

describe('the throttle while Redis is unreachable', () => {
  it('when the store fails, then the process still holds the bound in memory', async () => {
    const redis = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    const errors: unknown[] = [];
    const throttle = new LoginThrottle(new RedisAttemptStore(redis), limits, (err) =>
      errors.push(err),
    );
    const results: string[] = [];
    for (let i = 0; i < limits.maxPerAddress + 2; i++) {
      results.push(await outcome(throttle, 'a@x.io', 'ip'));
    }
    assert.deepEqual(results, ['wrong', 'wrong', 'wrong', 'throttled', 'throttled']);
    assert.ok(errors.length > 0, 'the failure was reported');
    redis.disconnect();
  });
});
