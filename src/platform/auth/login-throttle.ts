import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
import { AppError } from '../errors.js';

/**
 * Bounds password guessing wherever a password is checked (login, and the current password a
 * user gives to change their email or password). Two budgets of failed attempts per window:
 *
 * - per account and client address (LOGIN_MAX_FAILURES): one client guessing;
 * - per account from unfamiliar addresses (LOGIN_ACCOUNT_MAX_FAILURES): many addresses guessing
 *   one account, which the first budget alone lets through without bound.
 *
 * An attempt is reserved before the password is checked, in one atomic step (a Redis script,
 * or one synchronous step in memory), so however many arrive at once and in however many
 * processes, at most the budget is ever verified. A correct password clears its address's
 * count, returns its own reservation to the account and makes the address familiar to the
 * account; failures keep their reservation.
 *
 * The account budget could lock a victim out: anyone can spend it with wrong passwords. So it
 * does not apply to addresses the account signed in from within LOGIN_FAMILIAR_TTL, sessions
 * already open go on (refresh needs no password), and it ends with its window. What remains is
 * a person signing in from a new address while someone keeps guessing at their account: they
 * wait for the window. Only the attempt counts, never whether the account exists, so the
 * throttle says nothing about which emails are registered.
 */

export interface ThrottleLimits {
  maxPerAddress: number;
  maxPerAccount: number;
  windowMs: number;
  /** How long a successful sign-in keeps its address exempt from the account budget. */
  familiarMs: number;
}

/** Allowed, or refused with the time until the budget that refused it resets. */
export type Reservation = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Where the counts live: Redis when configured (shared by every process), else memory. */
export interface AttemptStore {
  /** Counts the attempt against both budgets unless one of them is spent (then counts nothing). */
  reserve(account: string, address: string, limits: ThrottleLimits): Promise<Reservation>;
  /**
   * The password was right: the address's count is cleared, the account's gives back this
   * attempt (it counts failures), and the address is familiar.
   */
  succeeded(account: string, address: string, limits: ThrottleLimits): Promise<void>;
}

/** Addresses remembered per account; the oldest go first beyond this. */
const FAMILIAR_MAX = 32;

interface Window {
  count: number;
  resetAt: number;
}

/**
 * The key a count is kept under in memory: 16 bytes of SHA-256 as a one-byte string, for an
 * account, an address or the pair. A load of many distinct emails keeps two counts each for a
 * whole window, and 64-character hex digests as keys (two in a pair's) would be most of that
 * memory; 128 bits still tell apart any two keys a process can hold.
 */
const short = (...parts: string[]) =>
  createHash('sha256').update(parts.join('\n')).digest().toString('latin1', 0, 16);

export class MemoryAttemptStore implements AttemptStore {
  private readonly windows = new Map<string, Window>();
  private readonly familiar = new Map<string, Map<string, number>>();

  async reserve(
    accountKey: string,
    addressKey: string,
    limits: ThrottleLimits,
  ): Promise<Reservation> {
    const [account, address, pairKey] = [
      short(accountKey),
      short(addressKey),
      short(accountKey, addressKey),
    ];
    const now = Date.now();
    const pair = this.live(pairKey, now);
    if (pair && pair.count >= limits.maxPerAddress) {
      return { allowed: false, retryAfterMs: pair.resetAt - now };
    }
    const all = this.live(account, now);
    if (!this.isFamiliar(account, address, now) && all && all.count >= limits.maxPerAccount) {
      return { allowed: false, retryAfterMs: all.resetAt - now };
    }
    this.count(pairKey, now, limits.windowMs);
    this.count(account, now, limits.windowMs);
    if (this.windows.size > 100_000) this.sweep(now);
    return { allowed: true };
  }

  async succeeded(accountKey: string, addressKey: string, limits: ThrottleLimits): Promise<void> {
    const [account, address] = [short(accountKey), short(addressKey)];
    this.windows.delete(short(accountKey, addressKey));
    const now = Date.now();
    const all = this.live(account, now);
    if (all && all.count > 0) all.count--;
    const known = this.familiar.get(account) ?? new Map<string, number>();
    known.delete(address);
    known.set(address, now + limits.familiarMs);
    // Maps keep insertion order: the first entries are the least recently successful.
    for (const [old] of known) {
      if (known.size <= FAMILIAR_MAX) break;
      known.delete(old);
    }
    this.familiar.set(account, known);
    if (this.familiar.size > 100_000) this.sweep(now);
  }

  private live(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    return window && window.resetAt > now ? window : undefined;
  }

  private count(key: string, now: number, windowMs: number) {
    const window = this.live(key, now);
    if (window) window.count++;
    else this.windows.set(key, { count: 1, resetAt: now + windowMs });
  }

  private isFamiliar(account: string, address: string, now: number): boolean {
    return (this.familiar.get(account)?.get(address) ?? 0) > now;
  }

  private sweep(now: number) {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    for (const [account, known] of this.familiar) {
      for (const [address, until] of known) if (until <= now) known.delete(address);
      if (known.size === 0) this.familiar.delete(account);
    }
  }
}

// KEYS: the address's counter, the account's counter, the account's familiar addresses (a
// sorted set scored by when the exemption ends). ARGV: maxPerAddress, maxPerAccount, windowMs,
// address, now. Returns {1} or {0, milliseconds until the refusing budget resets}.
const RESERVE = `
local pair = tonumber(redis.call('GET', KEYS[1]) or '0')
if pair >= tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
local exempt_until = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[4]) or '0')
if exempt_until <= tonumber(ARGV[5]) then
  local all = tonumber(redis.call('GET', KEYS[2]) or '0')
  if all >= tonumber(ARGV[2]) then return {0, redis.call('PTTL', KEYS[2])} end
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return {1}
`;

// KEYS: the address's counter, the account's counter, the familiar addresses. ARGV: address,
// now, familiarMs, max. The account's count gives back this attempt's reservation only.
const SUCCEEDED = `
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
local now = tonumber(ARGV[2])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1
`;

type ThrottleRedis = RedisClient & {
  loginReserve(...args: (string | number)[]): Promise<[number, number?]>;
  loginSucceeded(...args: (string | number)[]): Promise<number>;
};

export class RedisAttemptStore implements AttemptStore {
  private readonly redis: ThrottleRedis;

  constructor(
    redis: RedisClient,
    private readonly prefix = 'stratum:v1:login:',
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL once per server: the script is cached.
    redis.defineCommand('loginReserve', { numberOfKeys: 3, lua: RESERVE });
    redis.defineCommand('loginSucceeded', { numberOfKeys: 3, lua: SUCCEEDED });
    this.redis = redis as ThrottleRedis;
  }

  async reserve(account: string, address: string, limits: ThrottleLimits): Promise<Reservation> {
    const [allowed, ttl] = await this.redis.loginReserve(
      this.key(account, `address:${address}`),
      this.key(account, 'account'),
      this.key(account, 'familiar'),
      limits.maxPerAddress,
      limits.maxPerAccount,
      limits.windowMs,
      address,
      Date.now(),
    );
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: ttl ?? 0 };
  }

  async succeeded(account: string, address: string, limits: ThrottleLimits): Promise<void> {
    await this.redis.loginSucceeded(
      this.key(account, `address:${address}`),
      this.key(account, 'account'),
      this.key(account, 'familiar'),
      address,
      Date.now(),
      limits.familiarMs,
      FAMILIAR_MAX,
    );
  }

  /** One hash slot per account (the braces), so the scripts' keys stay together on a cluster. */
  private key(account: string, part: string) {
    return `${this.prefix}{${account}}:${part}`;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest('hex');

export class LoginThrottle {
  /** Holds the bound in this process while the shared store can't be reached. */
  private readonly fallback = new MemoryAttemptStore();

  constructor(
    private readonly store: AttemptStore,
    private readonly limits: ThrottleLimits,
    private readonly onStoreError: (err: unknown) => void = () => {},
  ) {}

  /**
   * Runs `verify` (a password check) only if the attempt fits the budgets, else 429. `email` is
   * the canonical address (the validator's lower case); the counts are kept under hashes, so
   * neither addresses nor emails sit in Redis in clear.
   */
  async guard<T>(
    email: string,
    ip: string | undefined,
    verify: () => Promise<T | undefined>,
    /** What is being guessed, for the 429's message (two-factor codes use their own key). */
    what = 'password',
  ): Promise<T | undefined> {
    const account = digest(email);
    const address = digest(ip ?? 'unknown');
    const reservation = await this.reserve(account, address);
    if (!reservation.allowed) {
      const retryAfter = Math.max(1, Math.ceil(reservation.retryAfterMs / 1000));
      throw new AppError(
        429,
        'RATE_LIMITED',
        `Too many failed ${what} attempts; try again later`,
        { retryAfterSeconds: retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
    const result = await verify();
    if (result !== undefined) await this.succeeded(account, address);
    return result;
  }

  private async reserve(account: string, address: string): Promise<Reservation> {
    try {
      return await this.store.reserve(account, address, this.limits);
    } catch (err) {
      this.onStoreError(err);
      return this.fallback.reserve(account, address, this.limits);
    }
  }

  private async succeeded(account: string, address: string) {
    try {
      await this.store.succeeded(account, address, this.limits);
    } catch (err) {
      this.onStoreError(err);
      await this.fallback.succeeded(account, address, this.limits);
    }
  }
}
