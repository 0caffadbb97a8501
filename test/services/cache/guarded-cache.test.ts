import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cache, CacheEntry, Lookup } from '../../../src/platform/cache/cache.js';
import { GuardedCache } from '../../../src/platform/cache/guarded-cache.js';
import { MemoryCache } from '../../../src/platform/cache/memory-cache.js';
import { SingleFlight } from '../../../src/platform/cache/single-flight.js';
import { sleep } from '../../support/time.js';

/** A cache whose store can be switched off, or made to hang: Redis trouble, at the edge. */
class FlakyCache implements Cache {
  mode: 'up' | 'down' | 'hanging' = 'up';
  constructor(private readonly inner = new MemoryCache(1000)) {}
  private gate<T>(work: () => Promise<T>): Promise<T> {
    if (this.mode === 'down') return Promise.reject(new Error('connection refused'));
    if (this.mode === 'hanging') return new Promise<T>(() => {});
    return work();
  }
  lookup(key: string): Promise<Lookup> {
    return this.gate(() => this.inner.lookup(key));
  }
  fill(key: string, ticket: string, entry: CacheEntry, ttlMs: number) {
    return this.gate(() => this.inner.fill(key, ticket, entry, ttlMs));
  }
  put(key: string, entry: CacheEntry, ttlMs: number) {
    return this.gate(() => this.inner.put(key, entry, ttlMs));
  }
  invalidate(key: string) {
    return this.gate(() => this.inner.invalidate(key));
  }
}

function guarded() {
  const store = new FlakyCache();
  const warnings: string[] = [];
  const cache = new GuardedCache(store, {
    timeoutMs: 50,
    maxEntryLifetimeMs: 60_000,
    maxSuspects: 100,
    retryIntervalMs: 60_000,
  });
  cache.logTo({ warn: (_details, message) => void warnings.push(message) });
  return { store, cache, warnings };
}

async function cacheValue(cache: Cache, key: string, data: unknown) {
  const miss = await cache.lookup(key);
  assert.ok(!miss.hit && miss.ticket);
  await cache.fill(key, miss.ticket, { version: 0, data }, 60_000);
}

describe('GuardedCache', () => {
  it('when the store fails a read, then it is a miss without a ticket, and nothing throws', async () => {
    const { store, cache, warnings } = guarded();
    store.mode = 'down';
    assert.deepEqual(await cache.lookup('k'), { hit: false, ticket: null });
    assert.equal(warnings.length, 1);
    await cache.close();
  });

  it('when the store hangs, then the command gives up after the timeout', async () => {
    const { store, cache } = guarded();
    store.mode = 'hanging';
    const started = Date.now();
    assert.deepEqual(await cache.lookup('k'), { hit: false, ticket: null });
    await cache.invalidate('k');
    assert.ok(Date.now() - started < 1000);
    await cache.close();
  });

  it('when an invalidation fails, then this process bypasses the key until a retry succeeds', async () => {
    const { store, cache } = guarded();
    await cacheValue(cache, 'k', 'old row');
    store.mode = 'down';
    await cache.invalidate('k'); // the database changed; the cache could not be told
    store.mode = 'up';
    // The stale entry is still in the store, but this process doesn't trust it.
    assert.equal((await store.lookup('k')).hit, true);
    assert.deepEqual(await cache.lookup('k'), { hit: false, ticket: null });
    assert.equal(cache.suspectCount, 1);
    assert.equal(await cache.retryInvalidations(), true);
    // Retried: the stale entry is gone for every process, and this one trusts the key again.
    assert.equal((await store.lookup('k')).hit, false);
    assert.equal(cache.suspectCount, 0);
    assert.equal((await cache.lookup('k')).hit, false);
    await cache.close();
  });

  it('when a write-through put fails, then the key is retried as an invalidation', async () => {
    const { store, cache } = guarded();
    await cache.put('p', { version: 1, data: 'v1' }, 60_000);
    store.mode = 'down';
    await cache.put('p', { version: 2, data: 'v2' }, 60_000);
    store.mode = 'up';
    assert.deepEqual(await cache.lookup('p'), { hit: false, ticket: null });
    await cache.retryInvalidations();
    assert.equal((await store.lookup('p')).hit, false);
    await cache.close();
  });
});

describe('SingleFlight', () => {
  it('when 200 callers ask for one key at once, then the work runs once', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    const work = async () => {
      runs++;
      await sleep(10);
      return 42;
    };
    const results = await Promise.all(Array.from({ length: 200 }, () => flights.run('k', work)));
    assert.equal(runs, 1);
    assert.ok(results.every((r) => r === 42));
  });

  it('when a key is forgotten mid-flight, then later callers start a fresh run', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    const work = async () => {
      const n = ++runs;
      await sleep(10);
      return n;
    };
    const first = flights.run('k', work);
    flights.forget('k');
    const second = flights.run('k', work);
    const third = flights.run('k', work);
    assert.deepEqual(await Promise.all([first, second, third]), [1, 2, 2]);
  });
});
