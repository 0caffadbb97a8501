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
// processes' clocks never need to agree. KEYS: deny set. ARGV: channel, then member, ttl ms
// pairs (one for a revocation, several when a resync writes back what Redis missed).
const REVOKE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for i = 2, #ARGV, 2 do
  local ttl = tonumber(ARGV[i + 1])
  redis.call('ZADD', KEYS[1], 'GT', now + ttl, ARGV[i])
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  redis.call('PUBLISH', ARGV[1], ARGV[i] .. ' ' .. ttl)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
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

/**
 * Where revocations are decided for good: PostgreSQL, where logout and every other end of a
 * session is committed before the deny list hears of it. The deny list is the fast copy; this
 * is what it is rebuilt from when Redis lost something (a revocation made while Redis was away,
 * a Redis restarted empty).
 */
export interface RevocationAuthority {
  /** Sessions ended in the last `withinMs` ms, and how long ago each ended. */
  recentlyEnded(withinMs: number): Promise<{ id: string; endedAgoMs: number }[]>;
  /** Whether the session has ended. */
  hasEnded(sessionId: string): Promise<boolean>;
}

export interface RedisRevocationOptions {
  /** How often the subscription proves it is alive (a PING on the subscriber connection). */
  heartbeatMs: number;
  /**
   * The mirror answers alone only while its last proof is this recent; otherwise each check
   * asks Redis. It is the bound on how long another process may still accept a revoked token.
   */
  staleAfterMs: number;
  /**
   * After a lost connection (or a master change) and the reload that follows, how long a "not
   * revoked" answer is still checked with the authority: long enough for every other process
   * to reconnect and write back what Redis refused from it meanwhile, and for the sentinels to
   * agree on the new master (they tell each other every 2 s; until then two processes may
   * write to different masters).
   */
  settleMs: number;
  /** False: no mirror, every check asks Redis (a cluster, where a PING proves nothing). */
  mirror?: boolean;
  /**
   * Replicas that must hold a revocation before revoke() returns (WAIT), so that a failover
   * cannot take it back, and the longest revoke() waits for them. 0: no wait.
   */
  waitReplicas?: number;
  waitTimeoutMs?: number;
}

export const REVOCATION_MIRROR: RedisRevocationOptions = {
  heartbeatMs: 200,
  staleAfterMs: 1000,
  settleMs: 10_000,
};

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
 * With an authority (PostgreSQL's ended sessions), nothing revoked is lost to a Redis outage:
 * each load also reads the sessions ended within a deny lifetime and writes back to Redis
 * (and so to every mirror) those it lacks; and from a lost connection until that load is done,
 * a check Redis can't answer, or answers "not revoked", asks the authority for the session.
 * Without one, a process that can't reach Redis refuses only what it revoked itself.
 *
 * The mirror is untrusted from the moment its subscriber or the main connection errors or
 * closes (a failover closes both: the sentinels announce the new master) until the reload on a
 * fresh subscriber connection has completed, and for settleMs after that a "not revoked" still
 * asks the authority: another process's revocation refused by a dying master reaches Redis
 * only when that process has reloaded and written it back.
 */
export class RedisRevocationList implements RevocationList {
  private readonly denied = new DenySet();
  private readonly scripts: Record<'revoke' | 'snapshot' | 'check', LuaScript>;
  private subscriber: RedisClient | undefined;
  /** Revocations go out here when they wait for replicas, so WAIT holds up no other command. */
  private writer: { client: RedisClient; revoke: LuaScript } | undefined;
  /** Detaches the listeners start() put on the main connection. */
  private unwatch: (() => void) | undefined;
  /** performance.now() until which a "not revoked" is checked with the authority. */
  private settlesAt = 0;
  /** Set when a connection was lost: the next completed reload starts a settle period. */
  private lost = false;
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
    /** The authority, and how long an ended session's access tokens stay denied. */
    private readonly authority?: { sessions: RevocationAuthority; denyForMs: number },
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
        await this.scripts.revoke([this.key], [this.channel, `${kind}:${id}`, ttlMs]);
        return;
      }
      this.writer ??= this.openWriter();
      // Until the writer has connected (it fails fast, like every connection here) the main
      // connection carries the revocation: it must reach the other processes now, not later.
      const writer =
        this.writer.client.status === 'ready'
          ? this.writer
          : { client: this.redis, revoke: this.scripts.revoke };
      await writer.revoke([this.key], [this.channel, `${kind}:${id}`, ttlMs]);
      // Not acknowledged in time: the master has it, and the session's end is in the database,
      // which every reload writes back to a master that lost it.
      await replicated(writer.client, this.key, waitReplicas, waitTimeoutMs);
    } catch {
      // Logout must not fail because Redis is away: the session is ended in the database and
      // denied here; the other processes ask the database until their next load writes it back.
    }
  }

  async isRevoked(jti: string, sid: string) {
    if (this.denied.holds(jti, sid)) return true;
    const settled = performance.now() >= this.settlesAt;
    if (settled && this.mirrorIsCurrent()) return false;
    let inRedis: boolean | undefined;
    try {
      inRedis = (await this.scripts.check([this.key], [`jti:${jti}`, `sid:${sid}`])) === 1;
    } catch {
      inRedis = undefined;
    }
    if (inRedis) return true;
    // Since a lost connection, Redis may lack what was revoked while it was away.
    if (inRedis === false && this.syncedEpoch === this.epoch && settled) return false;
    return this.endedInAuthority(sid);
  }

  /** True while checks are answered from the mirror alone. */
  mirrorIsCurrent(): boolean {
    return (
      this.syncedEpoch === this.epoch &&
      performance.now() - this.provenAt <= this.options.staleAfterMs
    );
  }

  start() {
    if (this.subscriber || this.unwatch) return;
    if (this.options.mirror === false) {
      // No mirror, but the same reload on every (re)connection: what Redis lost is written back,
      // and until then a "not revoked" asks the authority.
      const lost = () => this.distrust();
      const ready = () => void this.resync();
      this.redis.on('close', lost);
      this.redis.on('ready', ready);
      this.unwatch = () => {
        this.redis.off('close', lost);
        this.redis.off('ready', ready);
      };
      if (this.redis.status === 'ready') void this.resync();
      return;
    }
    // Its own connection: a subscribed connection can run nothing but (un)subscribe and PING.
    // PINGs go out at once, not pipelined, so the time a proof claims is when it was sent.
    const subscriber = duplicateClient(this.redis, {
      autoResubscribe: false,
      enableAutoPipelining: false,
    });
    subscriber.on('error', () => {
      this.distrust();
      // Still connected after the error: reconnect, so that a reload follows.
      if (subscriber.status === 'ready') subscriber.disconnect(true);
    });
    subscriber.on('close', () => this.distrust());
    // The main connection lost (a failover: the sentinels' +switch-master closes it) means the
    // subscriber may still listen to a server that is no longer the master: it reconnects too.
    const mainLost = () => {
      this.distrust();
      if (subscriber.status === 'ready') subscriber.disconnect(true);
    };
    this.redis.on('close', mainLost);
    this.unwatch = () => this.redis.off('close', mainLost);
    subscriber.on('ready', () => void this.resync(subscriber));
    subscriber.on('message', (_channel: string, message: string) => this.record(message));
    this.subscriber = subscriber;
    // Connected ahead of the first revocation, which must not wait for it.
    if ((this.options.waitReplicas ?? 0) > 0) this.writer ??= this.openWriter();
    this.heartbeat = setInterval(() => void this.prove(subscriber), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  async stop() {
    clearInterval(this.heartbeat);
    this.unwatch?.();
    this.unwatch = undefined;
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.writer?.client.disconnect();
    this.writer = undefined;
    this.epoch++;
  }

  /** Until the next completed reload, checks ask Redis and, for "not revoked", the authority. */
  private distrust() {
    this.epoch++;
    this.provenAt = -Infinity;
    this.lost = true;
  }

  private openWriter() {
    const client = duplicateClient(this.redis, { enableAutoPipelining: false });
    return { client, revoke: luaScript(client, REVOKE) };
  }

  private async endedInAuthority(sid: string) {
    if (!this.authority) return false;
    try {
      return await this.authority.sessions.hasEnded(sid);
    } catch {
      // Neither Redis nor the database answers: the documented policy is to let the token
      // through (the request needs the database anyway, and a revoked one is refused here).
      return false;
    }
  }

  private record(message: string) {
    const space = message.lastIndexOf(' ');
    this.denied.add(message.slice(0, space), Number(message.slice(space + 1)));
  }

  /** Subscribes (with a mirror), loads, and writes back what the authority has and Redis lacks. */
  private async resync(subscriber?: RedisClient) {
    const epoch = this.epoch;
    try {
      await subscriber?.subscribe(this.channel);
      const sentAt = performance.now();
      const [flat, ended] = await Promise.all([
        this.scripts.snapshot([this.key], []) as Promise<string[]>,
        this.endedRecently(),
      ]);
      if (epoch !== this.epoch) return;
      const inRedis = new Set<string>();
      for (let i = 0; i + 1 < flat.length; i += 2) {
        inRedis.add(flat[i]!);
        this.denied.add(flat[i]!, Number(flat[i + 1]));
      }
      await this.writeBack(ended.filter(([member]) => !inRedis.has(member)));
      this.denied.sweep();
      if (epoch !== this.epoch) return;
      if (this.lost) this.settlesAt = performance.now() + this.options.settleMs;
      this.lost = false;
      this.syncedEpoch = epoch;
      if (subscriber) this.provenAt = sentAt;
    } catch {
      // Checks keep asking Redis meanwhile; a lost connection brings its own resync.
      const retry = setTimeout(() => {
        if (epoch === this.epoch) void this.resync(subscriber);
      }, this.options.staleAfterMs);
      retry.unref();
    }
  }

  /** The authority's sessions still to deny, as [member, ms left]; none when it can't answer. */
  private async endedRecently(): Promise<[string, number][]> {
    if (!this.authority) return [];
    const { sessions, denyForMs } = this.authority;
    try {
      const ended = await sessions.recentlyEnded(denyForMs);
      return ended
        .map((s): [string, number] => [`sid:${s.id}`, Math.ceil(denyForMs - s.endedAgoMs)])
        .filter(([, left]) => left > 0);
    } catch {
      // The database is away too: load what Redis has rather than stay on a read per request.
      return [];
    }
  }

  /**
   * Revocations the authority holds and Redis lacks (made while Redis was away), written back
   * and published, so every process and every later load has them.
   */
  private async writeBack(missing: [string, number][]) {
    for (const [member, left] of missing) this.denied.add(member, left);
    if (missing.length === 0) return;
    await this.scripts.revoke([this.key], [this.channel, ...missing.flat()]);
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
