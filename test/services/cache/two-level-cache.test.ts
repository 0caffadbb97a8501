import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { RedisClient } from '../../../src/platform/redis/connect.js';
import {
  cacheKey,
  INVALIDATION_CHANNEL,
  type Cache,
  type CacheEntry,
  type Lookup,
} from '../../../src/platform/cache/cache.js';
import { GuardedCache } from '../../../src/platform/cache/guarded-cache.js';
import { InvalidationBus } from '../../../src/platform/cache/invalidation-bus.js';
import { RedisCache } from '../../../src/platform/cache/redis-cache.js';
import {
  TwoLevelCache,
  type TwoLevelOptions,
} from '../../../src/platform/cache/two-level-cache.js';
import { openRedis, redisSkip } from '../../support/redis.js';
import { eventually, sleep } from '../../support/time.js';

/** The Redis cache with a gate on lookups: a read held in flight while a write goes by. */
class HeldRedisCache implements Cache {
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;
  constructor(private readonly inner: Cache) {}
  hold() {
    this.held = new Promise((resolve) => (this.release = resolve));
  }
  let() {
    this.release?.();
    this.held = undefined;
  }
  async lookup(key: string): Promise<Lookup> {
    const found = await this.inner.lookup(key);
    await this.held;
    return found;
  }
  fill(key: string, ticket: string, entry: CacheEntry, ttlMs: number) {
    return this.inner.fill(key, ticket, entry, ttlMs);
  }
  put(key: string, entry: CacheEntry, ttlMs: number) {
    return this.inner.put(key, entry, ttlMs);
  }
  invalidate(key: string) {
    return this.inner.invalidate(key);
  }
}

describe('the two-level cache', { skip: redisSkip }, () => {
  const connections: RedisClient[] = [];
  const caches: TwoLevelCache[] = [];
  after(async () => {
    for (const cache of caches) await cache.close();
    for (const redis of connections) redis.disconnect();
  });

  /** One process's cache: its own connections, its own L1; started and subscribed. */
  async function processCache(options: Partial<TwoLevelOptions> = {}) {
    const redis = openRedis();
    connections.push(redis);
    const store = new HeldRedisCache(new RedisCache(redis));
    const name = `two-level-test-${randomUUID()}`;
    const bus = new InvalidationBus(redis, { heartbeatMs: 20, connectionName: name });
    const l2 = new GuardedCache(store, {
      timeoutMs: 2_000,
      maxEntryLifetimeMs: 60_000,
      maxSuspects: 100,
      retryIntervalMs: 60_000,
    });
    const cache = new TwoLevelCache(l2, bus, {
      maxEntries: 100,
      maxBytes: 1024 * 1024,
      ttlMs: 60_000,
      // Generous: these tests check what is served, not how fast a heartbeat comes back.
      stalenessMs: 60_000,
      recoveryMs: 0,
      ...options,
    });
    caches.push(cache);
    const inProcess: string[] = [];
    cache.observeLookups((key, hit, fromL1) => {
      if (hit && fromL1) inProcess.push(key);
    });
    await cache.start();
    await eventually(() => bus.subscribed, { what: 'the bus subscribed' });
    return { cache, bus, store, redis, name, inProcess };
  }

  /** Reads the key as a service does: on a miss, fills it with `data`. */
  async function read(cache: Cache, key: string, data: unknown): Promise<unknown> {
    const found = await cache.lookup(key);
    if (found.hit) return found.entry.data;
    if (found.ticket) await cache.fill(key, found.ticket, { version: 0, data }, 60_000);
    return data;
  }

  const newKey = () => cacheKey('user', randomUUID());

  it('when a key is read again, then it is served in process', async () => {
    const { cache, inProcess } = await processCache();
    const key = newKey();
    await read(cache, key, 'first');
    assert.equal(await read(cache, key, 'unused'), 'first');
    assert.deepEqual(inProcess, [key]);
  });

  it('when another process invalidates a key, then this one drops it and reads the new value', async () => {
    const a = await processCache();
    const b = await processCache();
    const key = newKey();
    await read(a.cache, key, 'old');
    assert.equal(await read(a.cache, key, 'unused'), 'old');
    await b.cache.invalidate(key);
    await eventually(async () => assert.equal(await read(a.cache, key, 'new'), 'new'));
    assert.equal(await read(a.cache, key, 'unused'), 'new');
  });

  it('when a read started before an invalidation ends after it, then it does not refill L1', async () => {
    const a = await processCache();
    const key = newKey();
    await read(a.cache, key, 'old');
    // Evict it from L1 the way a remote write does, but leave Redis as it is: the held read
    // below then finds the old value in Redis, as a read that raced the write would.
    const dropped = new Promise<void>((resolve) => a.cache.onRemoteWrite(() => resolve()));
    a.store.hold();
    const reading = a.cache.lookup(key);
    await a.redis.publish(INVALIDATION_CHANNEL, key);
    await dropped;
    a.store.let();
    const raced = await reading;
    assert.ok(raced.hit);
    assert.equal(a.cache.l1Size, 0, 'the raced read left nothing in L1');
  });

  it('when entries pass the bound, then the least recently used go', async () => {
    const { cache } = await processCache({ maxEntries: 3 });
    for (let i = 0; i < 5; i++) await read(cache, newKey(), i);
    assert.equal(cache.l1Size, 3);
  });

  it('when an entry outlives its L1 TTL, then it is read from Redis again', async () => {
    const { cache, inProcess } = await processCache({ ttlMs: 100 });
    const key = newKey();
    await read(cache, key, 'value');
    await sleep(250);
    assert.equal(await read(cache, key, 'unused'), 'value', 'still in Redis');
    assert.deepEqual(inProcess, [], 'not from L1');
  });

  it('when the subscription is lost, then L1 is dropped and bypassed until it is back and recovered', async () => {
    const recoveryMs = 300;
    const a = await processCache({ recoveryMs });
    const key = newKey();
    await read(a.cache, key, 'cached');
    assert.equal(a.cache.l1Size, 1);
    const states: boolean[] = [];
    a.bus.onConnection((subscribed) => states.push(subscribed));
    const clients = (await a.redis.client('LIST')) as string;
    const id = /id=(\d+) .*name=(\S+)/
      .exec(clients.split('\n').find((line) => line.includes(`name=${a.name}`)) ?? '')
      ?.at(1);
    assert.ok(id, 'the subscriber connection is listed');
    await a.redis.client('KILL', 'ID', id);
    await eventually(() => states.includes(false), { what: 'the loss noticed' });
    assert.equal(a.cache.l1Size, 0, 'L1 dropped');
    await eventually(() => states.at(-1) === true, { what: 'resubscribed' });
    // Right after, Redis is not trusted either: a miss with no right to fill.
    const during = await a.cache.lookup(key);
    if (!during.hit) assert.equal(during.ticket, null);
    await sleep(recoveryMs + 50);
    assert.equal(await read(a.cache, key, 'unused'), 'cached', 'from Redis once recovered');
    assert.equal(a.cache.l1Size, 1, 'L1 filled again');
  });
});
