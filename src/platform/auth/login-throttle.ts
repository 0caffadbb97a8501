import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError } from '../http/errors.js';

/**
 * Counts failed logins per email and client address in a fixed window. Unlike the request rate
 * limit it counts failures only, so a user who types the right password is never locked out.
 */
export interface FailureCounter {
  /** The current count and the milliseconds until the window resets. */
  get(key: string): Promise<{ count: number; resetMs: number }>;
  increment(key: string, windowMs: number): Promise<void>;
  reset(key: string): Promise<void>;
}

export class MemoryFailureCounter implements FailureCounter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  async get(key: string) {
    const entry = this.windows.get(key);
    if (!entry || entry.resetAt <= Date.now()) return { count: 0, resetMs: 0 };
    return { count: entry.count, resetMs: entry.resetAt - Date.now() };
  }

  async increment(key: string, windowMs: number) {
    const now = Date.now();
    const entry = this.windows.get(key);
    if (!entry || entry.resetAt <= now)
      this.windows.set(key, { count: 1, resetAt: now + windowMs });
    else entry.count++;
    if (this.windows.size > 100_000) this.sweep(now);
  }

  async reset(key: string) {
    this.windows.delete(key);
  }

  private sweep(now: number) {
    for (const [key, entry] of this.windows) if (entry.resetAt <= now) this.windows.delete(key);
  }
}

export class RedisFailureCounter implements FailureCounter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'stratum:v1:login-failures:',
  ) {}

  async get(key: string) {
    const [[, count], [, ttl]] = (await this.redis
      .multi()
      .get(this.prefix + key)
      .pttl(this.prefix + key)
      .exec()) as [[null, string | null], [null, number]];
    return { count: Number(count ?? 0), resetMs: Math.max(ttl, 0) };
  }

  async increment(key: string, windowMs: number) {
    // The window starts at the first failure: NX leaves a running window's expiry alone.
    await this.redis
      .multi()
      .incr(this.prefix + key)
      .pexpire(this.prefix + key, windowMs, 'NX')
      .exec();
  }

  async reset(key: string) {
    await this.redis.del(this.prefix + key);
  }
}

export class LoginThrottle {
  constructor(
    private readonly counter: FailureCounter,
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  static keyFor(email: string, ip: string): string {
    return createHash('sha256').update(`${email.toLowerCase()}\n${ip}`).digest('hex');
  }

  /** Refuses the attempt while the key has used up its failures. */
  async check(key: string): Promise<void> {
    const { count, resetMs } = await this.safely(() => this.counter.get(key), {
      count: 0,
      resetMs: 0,
    });
    if (count >= this.maxFailures) {
      const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
      throw new AppError(
        429,
        'RATE_LIMITED',
        'Too many failed logins; try again later',
        { retryAfterSeconds: retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
  }

  recordFailure(key: string) {
    return this.safely(() => this.counter.increment(key, this.windowMs), undefined);
  }

  recordSuccess(key: string) {
    return this.safely(() => this.counter.reset(key), undefined);
  }

  /** The counter lives in Redis when configured; Redis trouble must not block logins. */
  private async safely<T>(work: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await work();
    } catch {
      return fallback;
    }
  }
}
