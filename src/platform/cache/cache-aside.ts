import { ABSENT_VERSION, cacheKey, jitter, type Cache } from './cache.js';
import { readThrough, type Codec } from './read-through.js';
import { SingleFlight } from './single-flight.js';

export interface CacheAsideOptions<T> {
  /** The key's kind, e.g. `user` → `stratum:v1:user:<id>`. */
  kind: string;
  codec: Codec<T>;
  ttlMs: number;
  /** How long "no such row" is remembered. */
  negativeTtlMs: number;
}

/**
 * Cache-aside: reads go to the cache and fill it from the database on a miss; writers change
 * the database, then `invalidate` before they answer. The miss's ticket refuses a fill that a
 * concurrent write overtook, and `invalidate` detaches this process's in-flight read, so once
 * a write has completed no read returns the old row.
 */
export class CacheAside<T> {
  private readonly flights = new SingleFlight<T | undefined>();

  constructor(
    private readonly cache: Cache,
    private readonly options: CacheAsideOptions<T>,
  ) {
    // A write elsewhere: reads that start now must not join one that may have read before it.
    cache.onRemoteWrite?.((key) => this.flights.forget(key));
  }

  get(id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const { codec, ttlMs, negativeTtlMs } = this.options;
    return readThrough(
      {
        cache: this.cache,
        flights: this.flights,
        codec,
        entryFor: (value) =>
          value === undefined
            ? { entry: { version: ABSENT_VERSION, data: null }, ttlMs: negativeTtlMs }
            : { entry: { version: 0, data: codec.encode(value) }, ttlMs: jitter(ttlMs) },
      },
      this.key(id),
      load,
    );
  }

  /** Call after the write has committed, before answering. */
  async invalidate(id: string): Promise<void> {
    this.flights.forget(this.key(id));
    await this.cache.invalidate(this.key(id));
  }

  key(id: string): string {
    return cacheKey(this.options.kind, id);
  }
}
