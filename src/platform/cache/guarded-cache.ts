import { LRUCache } from 'lru-cache';
import type {
  Cache,
  CacheEntry,
  CacheHandle,
  CacheLogger,
  Lookup,
  LookupListener,
} from './cache.js';

export type { CacheLogger } from './cache.js';

export interface GuardedCacheOptions {
  /** A command slower than this counts as failed, so a slow Redis can't hold a request. */
  timeoutMs: number;
  /** The longest any entry can live (the largest TTL): how long a failed write can matter. */
  maxEntryLifetimeMs: number;
  /** Bound of the set of keys awaiting a retried invalidation. */
  maxSuspects: number;
  retryIntervalMs?: number;
}

class CacheTimeoutError extends Error {}

/**
 * Cache trouble never fails a request. A failed read is a miss (the caller reads the
 * database) and fills nothing. A failed write (invalidate or put) leaves the key *suspect*:
 * this process bypasses the cache for it and retries the invalidation in the background until
 * it succeeds, or until any entry written before the failure must have expired. Other
 * processes may still read the stale entry until that retry succeeds; if this process dies
 * first, until the entry's TTL ends. That is the honest bound of a failed invalidation.
 */
export class GuardedCache implements CacheHandle {
  private readonly suspects: LRUCache<string, true>;
  private readonly retryTimer: NodeJS.Timeout;
  private logger: CacheLogger = { warn: () => {} };
  private onLookup: LookupListener = () => {};

  constructor(
    private readonly inner: Cache,
    private readonly options: GuardedCacheOptions,
  ) {
    this.suspects = new LRUCache<string, true>({
      max: options.maxSuspects,
      ttl: options.maxEntryLifetimeMs,
    });
    this.retryTimer = setInterval(
      () => void this.retryInvalidations(),
      options.retryIntervalMs ?? 1000,
    );
    this.retryTimer.unref();
  }

  logTo(logger: CacheLogger): void {
    this.logger = logger;
  }

  observeLookups(listener: LookupListener): void {
    this.onLookup = listener;
  }

  async lookup(key: string): Promise<Lookup> {
    const found = await this.guardedLookup(key);
    this.onLookup(key, found.hit);
    return found;
  }

  private async guardedLookup(key: string): Promise<Lookup> {
    if (this.suspects.has(key)) return { hit: false, ticket: null };
    try {
      return await this.bounded(this.inner.lookup(key));
    } catch (err) {
      this.logger.warn({ err, key }, 'cache read failed; reading the database');
      return { hit: false, ticket: null };
    }
  }

  async fill(key: string, ticket: string, entry: CacheEntry, ttlMs: number) {
    if (this.suspects.has(key)) return;
    try {
      await this.bounded(this.inner.fill(key, ticket, entry, ttlMs));
    } catch {
      // A lost fill costs one more database read later; the ticket keeps it coherent.
    }
  }

  async put(key: string, entry: CacheEntry, ttlMs: number) {
    await this.write('put', key, () => this.inner.put(key, entry, ttlMs));
  }

  async invalidate(key: string) {
    await this.write('invalidate', key, () => this.inner.invalidate(key));
  }

  /** Keys this process doesn't trust until their invalidation has been retried. */
  get suspectCount(): number {
    return this.suspects.size;
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.retryTimer);
  }

  /** Retries the pending invalidations now; true when none is left. */
  async retryInvalidations(): Promise<boolean> {
    for (const key of [...this.suspects.keys()]) {
      try {
        await this.bounded(this.inner.invalidate(key));
        this.suspects.delete(key);
      } catch {
        return false;
      }
    }
    return this.suspects.size === 0;
  }

  private async write(operation: string, key: string, work: () => Promise<void>) {
    try {
      await this.bounded(work());
    } catch (err) {
      this.suspects.set(key, true);
      this.logger.warn({ err, key, operation }, 'cache write failed; key bypassed until retried');
    }
  }

  private async bounded<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CacheTimeoutError('cache command timed out')),
        this.options.timeoutMs,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
