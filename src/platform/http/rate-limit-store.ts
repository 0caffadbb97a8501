import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RedisClient } from '../redis/connect.js';
import { luaScript, type LuaScript } from '../cache/lua.js';

type Counted = (error: Error | null, result?: { current: number; ttl: number }) => void;

// KEYS: counter. ARGV: increment, window ms. The count after the increment and the ms left;
// the window starts with the request that creates the key, as in the plugin's own store.
const COUNT = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
if current == tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {current, tonumber(ARGV[2])}
end
return {current, redis.call('PTTL', KEYS[1])}`;

interface Batch {
  callbacks: Counted[];
  windowMs: number;
}

/**
 * Counts of one key asked for in the same event-loop turn go to Redis as one INCRBY, and each
 * request gets the count it would have got from its own INCR, in arrival order: the limit is
 * as exact as one command per request, for one command per key and turn.
 */
class CoalescedCounts {
  private waiting = new Map<string, Batch>();
  private readonly count: LuaScript;

  constructor(redis: RedisClient) {
    this.count = luaScript(redis, COUNT);
  }

  add(key: string, callback: Counted, windowMs: number) {
    if (this.waiting.size === 0) setImmediate(() => this.flush());
    const batch = this.waiting.get(key);
    if (batch) batch.callbacks.push(callback);
    else this.waiting.set(key, { callbacks: [callback], windowMs });
  }

  private flush() {
    const batches = this.waiting;
    this.waiting = new Map();
    for (const [key, batch] of batches) void this.send(key, batch);
  }

  private async send(key: string, { callbacks, windowMs }: Batch) {
    try {
      const [current, ttl] = (await this.count([key], [callbacks.length, windowMs])) as [
        number,
        number,
      ];
      const first = current - callbacks.length + 1;
      callbacks.forEach((callback, i) => callback(null, { current: first + i, ttl }));
    } catch (err) {
      for (const callback of callbacks) callback(err as Error);
    }
  }
}

/** What the plugin hands child() for a route with its own limit (typed loosely upstream). */
interface RouteLimit {
  routeInfo?: { method?: string | string[]; url?: string };
}

class CoalescingStore implements FastifyRateLimitStore {
  constructor(
    private readonly counts: CoalescedCounts,
    private readonly prefix: string,
  ) {}

  incr(key: string, callback: Counted, timeWindow: number) {
    this.counts.add(this.prefix + key, callback, timeWindow);
  }

  child(routeOptions: object) {
    const { method = '', url = '' } = (routeOptions as RouteLimit).routeInfo ?? {};
    return new CoalescingStore(this.counts, `${this.prefix}${String(method)}${url}-`);
  }
}

/** @fastify/rate-limit's store over Redis, with the counts of one key and turn coalesced. */
export function coalescingRedisStore(
  redis: RedisClient,
  nameSpace: string,
): FastifyRateLimitStoreCtor {
  const counts = new CoalescedCounts(redis);
  return class extends CoalescingStore {
    constructor() {
      super(counts, nameSpace);
    }
  };
}
