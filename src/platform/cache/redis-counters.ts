import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
import { cacheKey } from './cache.js';
import type { CounterBatch, PendingCounters } from './counters.js';
import { luaScript, type LuaScript } from './lua.js';

// KEYS: pending hash, batch hash, lease, batch index. ARGV: batch id, owner, lease ms.
// RENAME is atomic: an HINCRBY lands either before it (in this batch) or after (the next).
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
return redis.call('HGETALL', KEYS[2])`;

// KEYS: batch hash, lease, batch index. ARGV: batch id.
const ACK = `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 1`;

function toCounts(flat: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) counts.set(flat[i]!, Number(flat[i + 1]));
  return counts;
}

/**
 * Counters in Redis, shared by every API process and surviving their crashes:
 * `stratum:v1:{<name>}:pending` (a hash field per counter), and per claimed batch
 * `:batch:<id>` (the frozen hash), `:lease:<id>` (who flushes it, until when) and the index
 * `:batches` that lets a flusher find batches whose claimer died without scanning keys. The
 * braces keep them in one Redis Cluster slot: the scripts touch several at once.
 */
export class RedisPendingCounters implements PendingCounters {
  private readonly owner = randomUUID();
  private readonly claimScript: LuaScript;
  private readonly ackScript: LuaScript;

  constructor(
    private readonly redis: RedisClient,
    private readonly name: string,
  ) {
    this.claimScript = luaScript(redis, CLAIM);
    this.ackScript = luaScript(redis, ACK);
  }

  async increment(field: string, by = 1) {
    await this.redis.hincrby(this.key('pending'), field, by);
  }

  async claim(leaseMs: number): Promise<CounterBatch | undefined> {
    const id = randomUUID();
    const flat = (await this.claimScript(
      [this.key('pending'), this.key('batch', id), this.key('lease', id), this.key('batches')],
      [id, this.owner, leaseMs],
    )) as string[] | null;
    return flat ? { id, counts: toCounts(flat) } : undefined;
  }

  async claimOrphan(leaseMs: number): Promise<CounterBatch | undefined> {
    for (const id of await this.redis.smembers(this.key('batches'))) {
      // Only a batch whose lease has run out can be taken; NX makes one taker win.
      const taken = await this.redis.set(this.key('lease', id), this.owner, 'PX', leaseMs, 'NX');
      if (taken !== 'OK') continue;
      const counts = toCounts(await this.redis.hgetall(this.key('batch', id)).then(flatten));
      if (counts.size > 0) return { id, counts };
      // Acked between the listing and the lease: nothing left to do but tidy up.
      await this.ack(id);
    }
    return undefined;
  }

  async ack(batchId: string) {
    await this.ackScript(
      [this.key('batch', batchId), this.key('lease', batchId), this.key('batches')],
      [batchId],
    );
  }

  private key(...parts: string[]) {
    return cacheKey(`{${this.name}}`, ...parts);
  }
}

function flatten(hash: Record<string, string>): string[] {
  return Object.entries(hash).flat();
}
