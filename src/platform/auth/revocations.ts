import type { Redis } from 'ioredis';

/**
 * The deny list of access tokens cut off before they expire: single tokens (jti) and whole
 * sessions (sid, a refresh-token family). Entries live as long as an access token can.
 */
export interface RevocationList {
  revoke(kind: 'jti' | 'sid', id: string, ttlMs: number): Promise<void>;
  isRevoked(jti: string, sid: string): Promise<boolean>;
}

export class MemoryRevocationList implements RevocationList {
  private readonly entries = new Map<string, number>();

  async revoke(kind: 'jti' | 'sid', id: string, ttlMs: number) {
    this.entries.set(`${kind}:${id}`, Date.now() + ttlMs);
    this.sweep();
  }

  async isRevoked(jti: string, sid: string) {
    const now = Date.now();
    return [`jti:${jti}`, `sid:${sid}`].some((key) => (this.entries.get(key) ?? 0) > now);
  }

  private sweep() {
    const now = Date.now();
    for (const [key, expiresAt] of this.entries) if (expiresAt <= now) this.entries.delete(key);
  }
}

/**
 * Shared by every API process through Redis. Each process also remembers what it revoked
 * itself, so when Redis can't be asked, its own revocations still hold (documented: during a
 * Redis outage a token revoked through another process stays usable until Redis returns).
 */
export class RedisRevocationList implements RevocationList {
  private readonly local = new MemoryRevocationList();

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'stratum:v1:deny:',
  ) {}

  async revoke(kind: 'jti' | 'sid', id: string, ttlMs: number) {
    await this.local.revoke(kind, id, ttlMs);
    try {
      await this.redis.set(`${this.prefix}${kind}:${id}`, '1', 'PX', ttlMs);
    } catch {
      // Logout must not fail because Redis is away: the family is revoked in the database and
      // here; other processes learn of it when the refresh token is next presented.
    }
  }

  async isRevoked(jti: string, sid: string) {
    if (await this.local.isRevoked(jti, sid)) return true;
    try {
      const found = await this.redis.exists(`${this.prefix}jti:${jti}`, `${this.prefix}sid:${sid}`);
      return found > 0;
    } catch {
      return false;
    }
  }
}
