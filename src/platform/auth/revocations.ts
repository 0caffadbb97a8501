import { luaScript, type LuaScript } from '../cache/lua.js';
import { duplicateClient, replicated, type RedisClient } from '../redis/connect.js';

export type RevocationKind = 'jti' | 'sid';

/**
 * The deny list of access tokens cut off before they expire: single tokens (jti) and whole
 * sessions (sid, a refresh-token family). Entries live as long as an access token can.
 */
export interface RevocationList {
  revoke(kind: RevocationKind, id: string, ttlMs: number): Promise<void>;
  isRevoked(jti: string, sid: string): Promise<boolean>;
  /** Starts keeping in step with the other processes, where there are any. */
  start(): void;
  stop(): Promise<void>;
}

/** Entries with their local expiry; the in-memory list and the Redis list's mirror. */
class DenySet {
  private readonly entries = new Map<string, number>();

  add(member: string, ttlMs: number) {
    const expiresAt = Date.now() + ttlMs;
    if ((this.entries.get(member) ?? 0) < expiresAt) this.entries.set(member, expiresAt);
  }

  holds(jti: string, sid: string): boolean {
    const now = Date.now();
    return (
      (this.entries.get(`jti:${jti}`) ?? 0) > now || (this.entries.get(`sid:${sid}`) ?? 0) > now
    );
  }

  sweep() {
    const now = Date.now();
    for (const [member, expiresAt] of this.entries)
      if (expiresAt <= now) this.entries.delete(member);
  }
}

export class MemoryRevocationList implements RevocationList {
  private readonly denied = new DenySet();

  async revoke(kind: RevocationKind, id: string, ttlMs: number) {
    this.denied.add(`${kind}:${id}`, ttlMs);
    this.denied.sweep();
  }

  async isRevoked(jti: string, sid: string) {
    return this.denied.holds(jti, sid);
  }

  start() {}

  async stop() {}
}

// Scores are expiry times on Redis's clock, and what leaves Redis is the time left, so the
// processes' clocks never need to agree. KEYS: deny set. ARGV: member, ttl ms, channel.
const REVOKE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], 'GT', now + ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[1] .. ' ' .. ARGV[2])
return 1`;

// KEYS: deny set. Returns member, ms left, member, ms left...
const SNAPSHOT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local found = redis.call('ZRANGE', KEYS[1], now + 1, '+inf', 'BYSCORE', 'WITHSCORES')
for i = 2, #found, 2 do found[i] = tostring(tonumber(found[i]) - now) end
return found`;

// KEYS: deny set. ARGV: members. 1 when any is denied now.
const CHECK = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for _, member in ipairs(ARGV) do
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and tonumber(score) > now then return 1 end
end
return 0`;

export interface RedisRevocationOptions {
  /** How often the subscription proves it is alive (a PING on the subscriber connection). */
  heartbeatMs: number;
  /**
   * The mirror answers alone only while its last proof is this recent; otherwise each check
   * asks Redis. It is the bound on how long another process may still accept a revoked token.
   */
  staleAfterMs: number;
  /** False: no mirror, every check asks Redis (a cluster, where a PING proves nothing). */
  mirror?: boolean;
  /**
   * Replicas that must hold a revocation before revoke() returns (WAIT), so that a failover
   * cannot take it back, and the longest revoke() waits for them. 0: no wait.
   */
  waitReplicas?: number;
  waitTimeoutMs?: number;
  /** The database's word on ended sessions, for when Redis can't answer or lost a write. */
  authority?: SessionAuthority;
}

/**
 * Sessions end in the database first; the deny list only copies that to every process fast.
 * Redis replicates asynchronously, so a failover can lose a revocation, and while Redis is away
 * none can be written: the database is asked then.
 */
export interface SessionAuthority {
  sessionEnded(sid: string): Promise<boolean>;
  /** Sessions ended recently enough that their access tokens may live, with their time left. */
  recentlyEnded(): Promise<Array<[sid: string, msLeft: number]>>;
}

export const REVOCATION_MIRROR: RedisRevocationOptions = { heartbeatMs: 200, staleAfterMs: 1000 };

/**
 * Shared by every API process through Redis: a sorted set of denied members (scored by expiry)
 * and a channel that announces each revocation. Each process keeps a mirror of the set, so a
 * check costs no round trip. The mirror is trusted only while it provably is current:
 *
 * - on every (re)connection it subscribes first and then loads the set, so a revocation is in
 *   the snapshot or arrives as a message;
 * - every heartbeatMs it sends PING on the subscriber connection. Redis answers it after every
 *   message published before the PING arrived, so a PONG for a PING sent at time s proves that
 *   every revocation completed before s is in the mirror.
 *
 * While the last proof is older than staleAfterMs (the subscription is down, or Redis is slow),
 * checks ask Redis as before. So a token revoked through any process is refused by every other
 * one at most staleAfterMs after revoke() returned — in practice within a millisecond.
 *
 * When Redis can't be reached at all, a process still refuses what it revoked itself, and a
 * token revoked through another process stays usable until Redis returns (documented policy).
 */
export class RedisRevocationList implements RevocationList {
  private readonly denied = new DenySet();
  private readonly scripts: Record<'revoke' | 'snapshot' | 'check', LuaScript>;
  private subscriber: RedisClient | undefined;
  /** Revocations go out here when they wait for replicas, so WAIT holds up no other command. */
  private writer: { client: RedisClient; revoke: LuaScript } | undefined;
  /** Revocations Redis refused (it was away), with when they expire: written again later. */
  private readonly unsent = new Map<string, number>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Bumped on every lost subscriber connection; work begun under an older one is void. */
  private epoch = 0;
  private syncedEpoch = -1;
  /** performance.now() when the PING (or snapshot) behind the last proof was sent. */
  private provenAt = -Infinity;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisRevocationOptions = REVOCATION_MIRROR,
    private readonly key = 'stratum:v1:deny',
  ) {
    this.scripts = {
      revoke: luaScript(redis, REVOKE),
      snapshot: luaScript(redis, SNAPSHOT),
      check: luaScript(redis, CHECK),
    };
  }

  private get channel() {
    return `${this.key}:revoked`;
  }

  async revoke(kind: RevocationKind, id: string, ttlMs: number) {
    this.denied.add(`${kind}:${id}`, ttlMs);
    const { waitReplicas = 0, waitTimeoutMs = 0 } = this.options;
    try {
      if (waitReplicas === 0) {
        await this.scripts.revoke([this.key], [`${kind}:${id}`, ttlMs, this.channel]);
        return;
      }
      this.writer ??= this.openWriter();
      await this.writer.revoke([this.key], [`${kind}:${id}`, ttlMs, this.channel]);
      // Not acknowledged in time: the master has it, and the session's end is in the database.
      await replicated(this.writer.client, this.key, waitReplicas, waitTimeoutMs);
    } catch {
      // Logout must not fail because Redis is away: the session has ended in the database and
      // is denied here; other processes ask the database while Redis is away, and this one
      // writes it again when its connection is back (resync).
      this.unsent.set(`${kind}:${id}`, Date.now() + ttlMs);
    }
  }

  async isRevoked(jti: string, sid: string) {
    if (this.denied.holds(jti, sid)) return true;
    if (this.mirrorIsCurrent()) return false;
    try {
      return (await this.scripts.check([this.key], [`jti:${jti}`, `sid:${sid}`])) === 1;
    } catch {
      // Redis away (a failover, an outage): the database says whether the session ended.
      return (await this.options.authority?.sessionEnded(sid).catch(() => false)) ?? false;
    }
  }

  /** True while checks are answered from the mirror alone. */
  mirrorIsCurrent(): boolean {
    return (
      this.syncedEpoch === this.epoch &&
      performance.now() - this.provenAt <= this.options.staleAfterMs
    );
  }

  start() {
    if (this.subscriber || this.options.mirror === false) return;
    // Its own connection: a subscribed connection can run nothing but (un)subscribe and PING.
    // PINGs go out at once, not pipelined, so the time a proof claims is when it was sent.
    const subscriber = duplicateClient(this.redis, {
      autoResubscribe: false,
      enableAutoPipelining: false,
    });
    subscriber.on('close', () => {
      this.epoch++;
      this.provenAt = -Infinity;
    });
    subscriber.on('ready', () => void this.resync(subscriber));
    subscriber.on('message', (_channel: string, message: string) => this.record(message));
    this.subscriber = subscriber;
    this.heartbeat = setInterval(() => void this.prove(subscriber), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  async stop() {
    clearInterval(this.heartbeat);
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.writer?.client.disconnect();
    this.writer = undefined;
    this.epoch++;
  }

  private async resend() {
    const pending = [...this.unsent];
    this.unsent.clear();
    for (const [member, expiresAt] of pending) {
      const ttlMs = expiresAt - Date.now();
      const colon = member.indexOf(':');
      if (ttlMs > 0) {
        await this.revoke(member.slice(0, colon) as RevocationKind, member.slice(colon + 1), ttlMs);
      }
    }
  }

  private openWriter() {
    const client = duplicateClient(this.redis, { enableAutoPipelining: false });
    return { client, revoke: luaScript(client, REVOKE) };
  }

  private record(message: string) {
    const space = message.lastIndexOf(' ');
    this.denied.add(message.slice(0, space), Number(message.slice(space + 1)));
  }

  private async resync(subscriber: RedisClient) {
    const epoch = this.epoch;
    try {
      await subscriber.subscribe(this.channel);
      const sentAt = performance.now();
      const flat = (await this.scripts.snapshot([this.key], [])) as string[];
      // What Redis may have lost (a failover) or never got (written while it was away).
      const ended = (await this.options.authority?.recentlyEnded()) ?? [];
      if (epoch !== this.epoch) return;
      for (let i = 0; i + 1 < flat.length; i += 2) this.denied.add(flat[i]!, Number(flat[i + 1]));
      for (const [sid, msLeft] of ended) this.denied.add(`sid:${sid}`, msLeft);
      this.denied.sweep();
      this.syncedEpoch = epoch;
      this.provenAt = sentAt;
      void this.resend();
    } catch {
      // Checks keep asking Redis meanwhile; a lost connection brings its own resync.
      const retry = setTimeout(() => {
        if (epoch === this.epoch) void this.resync(subscriber);
      }, this.options.staleAfterMs);
      retry.unref();
    }
  }

  private async prove(subscriber: RedisClient) {
    const epoch = this.epoch;
    if (this.syncedEpoch !== epoch) return;
    this.denied.sweep();
    const sentAt = performance.now();
    try {
      await subscriber.ping();
      if (epoch === this.epoch) this.provenAt = Math.max(this.provenAt, sentAt);
    } catch {
      // No proof this time: past staleAfterMs checks ask Redis until a PING gets through.
    }
  }
}
