import type { CacheHandle, Lookup, LookupListener } from './cache.js';

const MISS: Lookup = { hit: false, ticket: null };

/**
 * CACHE_ENABLED=false: stores nothing, so every read goes to the database, one query per
 * request (no shared in-flight reads either). Lookups still count, all as misses, so
 * `/metrics` shows a hit ratio of 0.
 */
export class DisabledCache implements CacheHandle {
  readonly passThrough = true;
  private onLookup: LookupListener = () => {};

  async lookup(key: string): Promise<Lookup> {
    this.onLookup(key, false);
    return MISS;
  }

  async fill() {}
  async put() {}
  async invalidate() {}
  logTo() {}

  observeLookups(listener: LookupListener): void {
    this.onLookup = listener;
  }

  async start() {}
  async close() {}
}
