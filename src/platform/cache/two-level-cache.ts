import { LRUCache } from 'lru-cache';
import {
  INVALIDATION_CHANNEL,
  type CacheEntry,
  type CacheHandle,
  type CacheLogger,
  type Lookup,
  type LookupListener,
} from './cache.js';
import type { GuardedCache } from './guarded-cache.js';
import type { InvalidationBus } from './invalidation-bus.js';

export interface TwoLevelOptions {
  /** Bound of the in-process level, in entries and in bytes of the entries' JSON. */
  maxEntries: number;
  maxBytes: number;
  /** Longest life of an in-process entry. */
  ttlMs: number;
  /** An in-process entry is served only while the bus confirmed delivery within this. */
  stalenessMs: number;
  /**
   * After the subscription comes back, how long Redis isn't trusted either: long enough for
   * every process whose invalidation failed meanwhile to reconnect and retry it.
   */
  recoveryMs: number;
}

const NO_FILL: Lookup = { hit: false, ticket: null };

/**
 * An in-process level (L1: bounded, TTL) in front of the shared Redis cache (L2, guarded). An
 * L1 hit costs no network. Every write to L2 publishes its key (RedisCache's scripts), and each
 * process drops that key from its L1 when the message arrives.
 *
 * Staleness bound: L1 is served only while the bus has confirmed, within `stalenessMs`, that
 * every message published before then was handled (InvalidationBus.confirmedAt). So once a
 * write has been acknowledged (its invalidation ran in Redis, then it answered), no process
 * serves the older entry from L1 more than `stalenessMs` later.
 *
 * Races: every drop takes a number from a sequence; a lookup notes the number it started at, and
 * what it read goes into L1 only if its key was not dropped since. Losing the subscription
 * drops all of L1 and every read in flight's right to fill it, and Redis is bypassed too until
 * `recoveryMs` after it is back (a write that failed to invalidate Redis meanwhile is retried by
 * its process within that time).
 */
export class TwoLevelCache implements CacheHandle {
  private readonly l1: LRUCache<string, CacheEntry>;
  private seq = 0;
  /** Last drop of recently dropped keys, oldest first; bounded, `forgottenUpTo` covers the rest. */
  private readonly droppedAt = new Map<string, number>();
  private forgottenUpTo = 0;
  private redisDistrusted = false;
  private trustRedisFrom = 0;
  private onLookup: LookupListener = () => {};
  private readonly remoteWriteListeners: ((key: string) => void)[] = [];
  private logger: CacheLogger = { warn: () => {} };

  constructor(
    private readonly l2: GuardedCache,
    private readonly bus: InvalidationBus,
    private readonly options: TwoLevelOptions,
  ) {
    this.l1 = new LRUCache<string, CacheEntry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry) => 16 + (JSON.stringify(entry.data)?.length ?? 4),
      ttl: options.ttlMs,
    });
    bus.on(INVALIDATION_CHANNEL, (key) => {
      this.drop(key);
      for (const listener of this.remoteWriteListeners) listener(key);
    });
    bus.onConnection((subscribed) => (subscribed ? this.resubscribed() : this.unsubscribed()));
  }

  async lookup(key: string): Promise<Lookup> {
    const now = Date.now();
    if (this.l1Served(now)) {
      const held = this.l1.get(key);
      if (held !== undefined) {
        this.onLookup(key, true, true);
        return { hit: true, entry: held };
      }
    }
    if (this.redisDistrusted || now < this.trustRedisFrom) {
      this.onLookup(key, false);
      return NO_FILL;
    }
    const started = this.seq;
    const found = await this.l2.lookup(key);
    this.onLookup(key, found.hit);
    if (found.hit) {
      // "No such row" is kept only by a fill, which knows its shorter TTL: copied from Redis
      // with L1's TTL it could outlive CACHE_NEGATIVE_TTL_S.
      if (found.entry.data !== null) this.keep(key, found.entry, started, this.options.ttlMs);
      return found;
    }
    return found.ticket === null ? found : { hit: false, ticket: `${started}:${found.ticket}` };
  }

  async fill(key: string, ticket: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    const colon = ticket.indexOf(':');
    const started = Number(ticket.slice(0, colon));
    await this.l2.fill(key, ticket.slice(colon + 1), entry, ttlMs);
    this.keep(key, entry, started, Math.min(ttlMs, this.options.ttlMs));
  }

  async put(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    // Dropped before (reads in flight) and after (reads that ran meanwhile): the next read here
    // finds what Redis kept, the highest version.
    this.drop(key);
    await this.l2.put(key, entry, ttlMs);
    this.drop(key);
  }

  async invalidate(key: string): Promise<void> {
    this.drop(key);
    await this.l2.invalidate(key);
    this.drop(key);
  }

  onRemoteWrite(listener: (key: string) => void): void {
    this.remoteWriteListeners.push(listener);
  }

  logTo(logger: CacheLogger): void {
    this.logger = logger;
    this.l2.logTo(logger);
  }

  observeLookups(listener: LookupListener): void {
    this.onLookup = listener;
  }

  async start(): Promise<void> {
    this.bus.start();
  }

  async close(): Promise<void> {
    await this.bus.close();
    await this.l2.close();
  }

  /** Entries held in process. */
  get l1Size(): number {
    return this.l1.size;
  }

  private l1Served(now: number): boolean {
    return this.bus.subscribed && now - this.bus.confirmedAt < this.options.stalenessMs;
  }

  private keep(key: string, entry: CacheEntry, started: number, ttlMs: number): void {
    if (!this.bus.subscribed) return;
    const lastDrop = this.droppedAt.get(key) ?? this.forgottenUpTo;
    if (lastDrop > started) return;
    this.l1.set(key, entry, { ttl: ttlMs });
  }

  private drop(key: string): void {
    const seq = ++this.seq;
    this.l1.delete(key);
    this.droppedAt.delete(key);
    this.droppedAt.set(key, seq);
    if (this.droppedAt.size > this.options.maxEntries + 1024) {
      const [oldest, at] = this.droppedAt.entries().next().value!;
      this.droppedAt.delete(oldest);
      this.forgottenUpTo = Math.max(this.forgottenUpTo, at);
    }
  }

  private unsubscribed(): void {
    this.forgottenUpTo = ++this.seq;
    this.droppedAt.clear();
    this.l1.clear();
    this.redisDistrusted = true;
    this.logger.warn({}, 'cache invalidations lost; reading the database until resubscribed');
  }

  private resubscribed(): void {
    if (this.redisDistrusted) {
      this.trustRedisFrom = Date.now() + this.options.recoveryMs;
      this.redisDistrusted = false;
      this.logger.info?.({}, 'cache invalidations back; Redis cache trusted again shortly');
    }
    // Writes whose invalidation failed while Redis was away are retried now, not in a second.
    void this.l2.retryInvalidations();
  }
}
