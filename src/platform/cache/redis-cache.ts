import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
import {
  GENERATION_TTL_MS,
  generationKey,
  INVALIDATION_CHANNEL,
  type Cache,
  type CacheEntry,
  type Lookup,
} from './cache.js';
import { luaScript, type LuaScript } from './lua.js';

// Stored as "<version>:<json>", so the scripts compare versions without decoding JSON.
const encode = (entry: CacheEntry) => `${entry.version}:${JSON.stringify(entry.data)}`;

function decode(stored: string): CacheEntry {
  const colon = stored.indexOf(':');
  return { version: Number(stored.slice(0, colon)), data: JSON.parse(stored.slice(colon + 1)) };
}

// KEYS: entry, generation. ARGV: a fresh token, generation TTL.
const LOOKUP = `
local stored = redis.call('GET', KEYS[1])
if stored then return {1, stored} end
local gen = redis.call('GET', KEYS[2])
if not gen then
  gen = ARGV[1]
  redis.call('SET', KEYS[2], gen, 'PX', ARGV[2])
end
return {0, gen}`;

// KEYS: entry, generation. ARGV: ticket, payload, TTL.
const FILL = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

// Writes publish the key on INVALIDATION_CHANNEL in the same script: a process's in-process
// copy (two-level cache) is dropped by a message that can't be separated from the write.

// KEYS: entry, generation. ARGV: version, payload, TTL, fresh token, generation TTL, channel.
const PUT = `
local stored = redis.call('GET', KEYS[1])
if stored then
  local version = tonumber(string.match(stored, '^(-?%d+):'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
redis.call('PUBLISH', ARGV[6], KEYS[1])
return 1`;

// KEYS: entry, generation. ARGV: fresh token, generation TTL, channel.
const INVALIDATE = `
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], KEYS[1])
return 1`;

/**
 * The shared cache of every API process. Each operation is one atomic script or command;
 * `put` and `invalidate` also publish the key on INVALIDATION_CHANNEL.
 */
export class RedisCache implements Cache {
  private readonly scripts: Record<'lookup' | 'fill' | 'put' | 'invalidate', LuaScript>;

  constructor(private readonly redis: RedisClient) {
    this.scripts = {
      lookup: luaScript(redis, LOOKUP),
      fill: luaScript(redis, FILL),
      put: luaScript(redis, PUT),
      invalidate: luaScript(redis, INVALIDATE),
    };
  }

  async lookup(key: string): Promise<Lookup> {
    // A hit, nearly every read, needs only the entry: one GET. A miss then runs the script,
    // which looks again (a fill may have landed meanwhile) and hands out the ticket atomically.
    const stored = await this.redis.get(key);
    if (stored !== null) return { hit: true, entry: decode(stored) };
    const [hit, value] = (await this.scripts.lookup(
      [key, generationKey(key)],
      [randomUUID(), GENERATION_TTL_MS],
    )) as [number, string];
    return hit === 1 ? { hit: true, entry: decode(value) } : { hit: false, ticket: value };
  }

  async fill(key: string, ticket: string, entry: CacheEntry, ttlMs: number) {
    await this.scripts.fill([key, generationKey(key)], [ticket, encode(entry), ttlMs]);
  }

  async put(key: string, entry: CacheEntry, ttlMs: number) {
    await this.scripts.put(
      [key, generationKey(key)],
      [entry.version, encode(entry), ttlMs, randomUUID(), GENERATION_TTL_MS, INVALIDATION_CHANNEL],
    );
  }

  async invalidate(key: string) {
    await this.scripts.invalidate(
      [key, generationKey(key)],
      [randomUUID(), GENERATION_TTL_MS, INVALIDATION_CHANNEL],
    );
  }
}
