import type { RedisClient } from '../redis/connect.js';
import { luaScript, type LuaScript } from '../cache/lua.js';
import type { WriteMarks } from './replicas.js';

/**
 * Positions as 16 hex digits: fixed width, so Redis compares them as strings in the order of the
 * positions (Lua's numbers would round a 64-bit position).
 */
const hex = (lsn: bigint) => lsn.toString(16).padStart(16, '0');

/** Keeps the larger position: two writes of one actor may record theirs out of order. */
const RAISE = `
local current = redis.call('GET', KEYS[1])
if current and current >= ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1`;

/** Every process's view of each actor's last write position (ReplicaReads). */
export class RedisWriteMarks implements WriteMarks {
  private readonly raise: LuaScript;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = 'stratum:v1:wrote:',
  ) {
    this.raise = luaScript(redis, RAISE);
  }

  async get(actor: string) {
    const value = await this.redis.get(`${this.prefix}${actor}`);
    return value ? BigInt(`0x${value}`) : undefined;
  }

  async set(actor: string, lsn: bigint, ttlMs: number) {
    await this.raise([`${this.prefix}${actor}`], [hex(lsn), ttlMs]);
  }
}
