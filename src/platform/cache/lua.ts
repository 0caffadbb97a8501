import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';

export type LuaScript = (keys: string[], args: (string | number)[]) => Promise<unknown>;

/**
 * A Lua script run by its SHA (EVALSHA), loaded on first use and again after a Redis restart
 * (NOSCRIPT). Each script runs atomically in Redis: that is what the cache's guarded writes
 * and the write-behind claim rely on.
 */
export function luaScript(redis: RedisClient, source: string): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
