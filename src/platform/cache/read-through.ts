import type { Cache, CacheEntry } from './cache.js';
import type { SingleFlight } from './single-flight.js';

/** How a cached type becomes JSON and back (dates, for instance, need reviving). */
export interface Codec<T> {
  encode(value: T): unknown;
  decode(data: unknown): T;
}

export interface ReadThroughOptions<T> {
  cache: Cache;
  flights: SingleFlight<T | undefined>;
  codec: Codec<T>;
  /** The entry a loaded value (or undefined: no such row) is stored as, and for how long. */
  entryFor(value: T | undefined): { entry: CacheEntry; ttlMs: number };
}

/**
 * The read half shared by cache-aside and write-through: the cache, else one database read
 * per key and process (single-flight), filled back with the miss's ticket so a write that
 * lands meanwhile wins.
 */
export function readThrough<T>(
  options: ReadThroughOptions<T>,
  key: string,
  load: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const { cache, flights, codec } = options;
  if (cache.passThrough) return cache.lookup(key).then(load);
  return flights.run(key, async () => {
    const found = await cache.lookup(key);
    if (found.hit) {
      return found.entry.data === null ? undefined : codec.decode(found.entry.data);
    }
    const value = await load();
    if (found.ticket !== null) {
      const { entry, ttlMs } = options.entryFor(value);
      await cache.fill(key, found.ticket, entry, ttlMs);
    }
    return value;
  });
}
