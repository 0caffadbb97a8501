import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import {
  cacheKey,
  generationKey,
  jitter,
  TOMBSTONE_VERSION,
  type Cache,
} from '../../../src/platform/cache/cache.js';
import { MemoryCache } from '../../../src/platform/cache/memory-cache.js';
import { RedisCache } from '../../../src/platform/cache/redis-cache.js';
import { openRedis, redisSkip } from '../../support/redis.js';
import { sleep } from '../../support/time.js';

const redis = redisSkip ? undefined : openRedis();
after(() => redis?.disconnect());

const adapters: { name: string; skip?: string; make: () => Cache }[] = [
  { name: 'memory', make: () => new MemoryCache(1000) },
  { name: 'redis', skip: redisSkip, make: () => new RedisCache(redis!) },
];

const entry = (version: number, data: unknown) => ({ version, data });
const key = () => cacheKey('test', randomUUID());

for (const adapter of adapters) {
  describe(`the ${adapter.name} cache`, { skip: adapter.skip }, () => {
    const cache = adapter.skip ? (undefined as never) : adapter.make();

    it('when a miss is filled with its ticket, then the next lookup hits', async () => {
      const k = key();
      const miss = await cache.lookup(k);
      assert.ok(!miss.hit && miss.ticket);
      await cache.fill(k, miss.ticket, entry(0, { a: 1 }), 10_000);
      assert.deepEqual(await cache.lookup(k), { hit: true, entry: entry(0, { a: 1 }) });
    });

    it('when a write invalidates between a miss and its fill, then the fill is refused', async () => {
      const k = key();
      const miss = await cache.lookup(k);
      assert.ok(!miss.hit && miss.ticket);
      await cache.invalidate(k);
      await cache.fill(k, miss.ticket, entry(0, 'old row'), 10_000);
      const after = await cache.lookup(k);
      assert.equal(after.hit, false);
    });

    it('when a put lands between a miss and its fill, then the put stays', async () => {
      const k = key();
      const miss = await cache.lookup(k);
      assert.ok(!miss.hit && miss.ticket);
      await cache.put(k, entry(2, 'new row'), 10_000);
      await cache.fill(k, miss.ticket, entry(1, 'old row'), 10_000);
      assert.deepEqual(await cache.lookup(k), { hit: true, entry: entry(2, 'new row') });
    });

    it('when puts arrive out of order, then the higher version stays', async () => {
      const k = key();
      await cache.put(k, entry(5, 'v5'), 10_000);
      await cache.put(k, entry(4, 'v4'), 10_000);
      assert.deepEqual(await cache.lookup(k), { hit: true, entry: entry(5, 'v5') });
      await cache.put(k, entry(TOMBSTONE_VERSION, null), 10_000);
      await cache.put(k, entry(6, 'v6'), 10_000);
      assert.deepEqual(await cache.lookup(k), {
        hit: true,
        entry: entry(TOMBSTONE_VERSION, null),
      });
    });

    it('when an entry outlives its TTL, then it is gone', async () => {
      const k = key();
      await cache.put(k, entry(1, 'short'), 30);
      await sleep(80);
      assert.equal((await cache.lookup(k)).hit, false);
    });
  });
}

describe('the memory cache bound', () => {
  it('when more keys are written than CACHE_MAX_ENTRIES, then it holds at most that many', async () => {
    const cache = new MemoryCache(100);
    for (let i = 0; i < 500; i++) await cache.put(key(), entry(1, i), 60_000);
    assert.ok(cache.size <= 100, `size ${cache.size}`);
  });

  it('when a generation is evicted before the fill, then the fill is refused', async () => {
    const cache = new MemoryCache(100);
    const k = key();
    const miss = await cache.lookup(k);
    assert.ok(!miss.hit && miss.ticket);
    for (let i = 0; i < 200; i++) await cache.lookup(key());
    await cache.fill(k, miss.ticket, entry(0, 'maybe old'), 60_000);
    assert.equal((await cache.lookup(k)).hit, false);
  });
});

describe('Redis key layout', { skip: redisSkip }, () => {
  it('when a value is cached, then it lives under stratum:v1:<kind>:<id> with a TTL', async () => {
    const k = cacheKey('user', randomUUID());
    assert.match(k, /^stratum:v1:user:[0-9a-f-]{36}$/);
    await new RedisCache(redis!).put(k, entry(1, { id: 'x' }), 60_000);
    const ttl = await redis!.pttl(k);
    assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
    assert.ok((await redis!.pttl(generationKey(k))) > 0);
  });
});

describe('TTL jitter', () => {
  it('when TTLs are drawn, then they stay within ±10% and are not all equal', () => {
    const drawn = Array.from({ length: 1000 }, () => jitter(1_800_000));
    assert.ok(drawn.every((ms) => ms >= 1_620_000 && ms <= 1_980_000));
    assert.ok(new Set(drawn).size > 100);
  });
});
