import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  GENERATION_TTL_MS,
  generationKey,
  type Cache,
  type CacheEntry,
  type Lookup,
} from './cache.js';

/**
 * The embedded-mode cache: one process, bounded by entry count (least recently used goes
 * first). Entries are stored as JSON text, so callers get copies, as they would from Redis.
 * Generations share the bound; an evicted generation only makes a pending fill fail.
 */
export class MemoryCache implements Cache {
  private readonly entries: LRUCache<string, string>;

  constructor(maxEntries: number) {
    this.entries = new LRUCache<string, string>({ max: maxEntries });
  }

  async lookup(key: string): Promise<Lookup> {
    const stored = this.entries.get(key);
    if (stored !== undefined) return { hit: true, entry: JSON.parse(stored) as CacheEntry };
    let ticket = this.entries.get(generationKey(key));
    if (ticket === undefined) {
      ticket = randomUUID();
      this.entries.set(generationKey(key), ticket, { ttl: GENERATION_TTL_MS });
    }
    return { hit: false, ticket };
  }

  async fill(key: string, ticket: string, entry: CacheEntry, ttlMs: number) {
    if (this.entries.get(generationKey(key)) !== ticket) return;
    this.entries.set(key, JSON.stringify(entry), { ttl: ttlMs });
  }

  async put(key: string, entry: CacheEntry, ttlMs: number) {
    const stored = this.entries.get(key);
    if (stored !== undefined && (JSON.parse(stored) as CacheEntry).version >= entry.version) return;
    this.entries.set(key, JSON.stringify(entry), { ttl: ttlMs });
    this.entries.set(generationKey(key), randomUUID(), { ttl: GENERATION_TTL_MS });
  }

  async invalidate(key: string) {
    this.entries.delete(key);
    this.entries.set(generationKey(key), randomUUID(), { ttl: GENERATION_TTL_MS });
  }

  /** Entries held, generations included: never more than maxEntries. */
  get size(): number {
    return this.entries.size;
  }
}
