import { ABSENT_VERSION, cacheKey, jitter, type Cache } from './cache.js';
import { readThrough, type Codec } from './read-through.js';
import { SingleFlight } from './single-flight.js';

export interface WriteThroughOptions<T> {
  /** The key's kind, e.g. `product` → `stratum:v1:product:<id>`. */
  kind: string;
  codec: Codec<T>;
  /** The row's version, incremented by the database on every write of the row. */
  versionOf: (value: T) => number;
  ttlMs: number;
  negativeTtlMs: number;
}

/**
 * Write-through: every write stores the new value in the database and then in the cache (no
 * delete), so the read after a write hits. Cache writes carry the row version and the cache
 * keeps the highest, so two writers whose cache writes cross still leave the newer row. Rows
 * it serves are deactivated, never deleted (products), so it has no delete. Misses (a cold or
 * evicted key) read through like cache-aside.
 */
export class WriteThroughCache<T> {
  private readonly flights = new SingleFlight<T | undefined>();

  constructor(
    private readonly cache: Cache,
    private readonly options: WriteThroughOptions<T>,
  ) {
    // A write elsewhere: reads that start now must not join one that may have read before it.
    cache.onRemoteWrite?.((key) => this.flights.forget(key));
  }

  get(id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const { codec, ttlMs, negativeTtlMs, versionOf } = this.options;
    return readThrough(
      {
        cache: this.cache,
        flights: this.flights,
        codec,
        entryFor: (value) =>
          value === undefined
            ? { entry: { version: ABSENT_VERSION, data: null }, ttlMs: negativeTtlMs }
            : {
                entry: { version: versionOf(value), data: codec.encode(value) },
                ttlMs: jitter(ttlMs),
              },
      },
      this.key(id),
      load,
    );
  }

  /** Call with the row as committed (its new version), before answering. */
  async write(id: string, value: T): Promise<void> {
    const { codec, versionOf, ttlMs } = this.options;
    this.flights.forget(this.key(id));
    await this.cache.put(
      this.key(id),
      { version: versionOf(value), data: codec.encode(value) },
      jitter(ttlMs),
    );
  }

  key(id: string): string {
    return cacheKey(this.options.kind, id);
  }
}
