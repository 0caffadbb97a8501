/**
 * The Cache port. Besides plain reads it offers the two guarded writes that keep a cache
 * coherent with the database under concurrency:
 *
 * - every key has a *generation*, a random token replaced by each write (`invalidate`, `put`).
 *   A miss hands out the current generation as a ticket, and `fill` stores only while the
 *   generation is still that ticket. So a reader that loaded the database before a writer
 *   committed and invalidated can never store the old row afterwards. A generation that is
 *   missing (evicted, expired) never matches a ticket: losing one costs a fill, never coherence.
 * - `put` (write-through) stores only a higher `version` than the stored one, so two writers
 *   whose cache writes arrive out of order still leave the newer row in place.
 *
 * Values are JSON; `data: null` records that the database has no such row (negative caching).
 */
export interface CacheEntry {
  /** Monotonic per key (a row version); 0 when the caller doesn't version its entries. */
  version: number;
  data: unknown;
}

export type Lookup = { hit: true; entry: CacheEntry } | { hit: false; ticket: string | null };

export interface Cache {
  /** The entry, or on a miss a ticket for `fill` (null: don't fill, the cache can't be trusted). */
  lookup(key: string): Promise<Lookup>;
  /** Stores the entry only if no write happened to the key since the ticket was handed out. */
  fill(key: string, ticket: string, entry: CacheEntry, ttlMs: number): Promise<void>;
  /** Stores the entry unless a newer version is stored; starts a new generation. */
  put(key: string, entry: CacheEntry, ttlMs: number): Promise<void>;
  /** Deletes the entry and starts a new generation, so in-flight fills are refused. */
  invalidate(key: string): Promise<void>;
  /** True when the cache stores nothing (CACHE_ENABLED=false): every read loads, alone. */
  readonly passThrough?: boolean;
  /**
   * Told of each key another process wrote (two-level cache), so a read in flight here that
   * may predate that write is not joined by later reads.
   */
  onRemoteWrite?(listener: (key: string) => void): void;
}

/** The cache as the composition root hands it out: the port plus its lifecycle and metrics. */
export interface CacheHandle extends Cache {
  /** The cache is built before the server's logger exists; the app hands it over here. */
  logTo(logger: CacheLogger): void;
  /** Told of every lookup's result (the metrics count hits and misses, and at which level). */
  observeLookups(listener: LookupListener): void;
  /** Starts what runs in the background of an API process (the invalidation subscription). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface CacheLogger {
  warn(details: object, message: string): void;
  info?(details: object, message: string): void;
}

/** `inProcess`: a hit served by the two-level cache's in-process level, without Redis. */
export type LookupListener = (key: string, hit: boolean, inProcess?: boolean) => void;

/** Where every invalidation is published (by the Redis scripts themselves, atomically). */
export const INVALIDATION_CHANNEL = 'stratum:v1:cache:invalidated';

/** A deleted row's entry: above every real version, so no late write-through resurrects it. */
export const TOMBSTONE_VERSION = Number.MAX_SAFE_INTEGER;

/** Version of a negative entry found by a read: any real row written later replaces it. */
export const ABSENT_VERSION = -1;

/**
 * Every key the service writes to Redis: namespaced, and versioned so that a release that
 * changes a cached shape bumps `v1` and never reads the old shape.
 */
export function cacheKey(...parts: string[]): string {
  return ['stratum', 'v1', ...parts].join(':');
}

/**
 * The key's generation lives beside it: long enough to outlive any in-flight read. The scripts
 * touch both keys at once, so they must share a Redis Cluster slot: the braces make the
 * generation's slot that of the whole entry key (keys are built from plain parts, no braces).
 */
export const generationKey = (key: string) => `{${key}}:gen`;
export const GENERATION_TTL_MS = 24 * 3_600_000;

/** ±10 % around ttlMs, so entries written together (a warm-up, a deploy) don't expire together. */
export function jitter(ttlMs: number, spread = 0.1): number {
  return Math.max(1, Math.round(ttlMs * (1 - spread + Math.random() * 2 * spread)));
}
