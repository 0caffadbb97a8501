import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { LRUCache } from 'lru-cache';
import type { UserRole } from '../db/schema.js';
import { UnauthorizedError } from '../http/errors.js';

export interface TokenSettings {
  secret: Uint8Array;
  algorithm: 'HS256' | 'HS384' | 'HS512';
  issuer: string;
  audience: string;
  accessTtlMs: number;
}

export interface AccessClaims {
  sub: string;
  email: string;
  role: UserRole;
  /** The refresh-token family (one per login): revoking it cuts off its access tokens too. */
  sid: string;
  jti: string;
  exp: number;
}

const ROLES: readonly string[] = ['admin', 'user', 'guest'];

export class InvalidTokenError extends UnauthorizedError {
  constructor(message = 'Access token is invalid') {
    super(message, 'INVALID_TOKEN');
  }
}

export class TokenExpiredError extends UnauthorizedError {
  constructor() {
    super('Access token has expired', 'TOKEN_EXPIRED');
  }
}

type Signer = (payload: Record<string, unknown>) => string;
type Verifier = (token: string) => Record<string, unknown>;

/**
 * Access tokens with fast-jwt (the library behind @fastify/jwt): synchronous HMAC with the key
 * imported once, and a small cache of verified tokens, because every request verifies one.
 * The algorithm is pinned on verification; issuer, audience and expiry are checked.
 *
 * The cache is keyed by the token itself (fast-jwt's own keys by a SHA-256 of it: a hash per
 * request for nothing, as the token is already a unique key) and a hit is still checked
 * against its expiry.
 */
export class AccessTokens {
  private readonly signer: Signer;
  private readonly verifier: Verifier;
  private readonly verified = new LRUCache<string, AccessClaims>({ max: 10_000 });

  constructor(private readonly settings: TokenSettings) {
    const key = Buffer.from(settings.secret);
    this.signer = createSigner<Record<string, unknown>>({
      key,
      algorithm: settings.algorithm,
      iss: settings.issuer,
      aud: settings.audience,
      expiresIn: settings.accessTtlMs,
    });
    this.verifier = createVerifier({
      key,
      algorithms: [settings.algorithm],
      allowedIss: settings.issuer,
      allowedAud: settings.audience,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
    }) as Verifier;
  }

  async sign(user: { id: string; email: string; role: UserRole }, sid: string) {
    const jti = randomUUID();
    const token = this.signer({ sub: user.id, email: user.email, role: user.role, sid, jti });
    return { token, jti };
  }

  /** Verifies signature, algorithm (pinned), issuer, audience and expiry. */
  async verify(token: string): Promise<AccessClaims> {
    const cached = this.verified.get(token);
    if (cached && cached.exp * 1000 > Date.now()) return cached;
    const claims = this.verifyUncached(token);
    this.verified.set(token, claims);
    return claims;
  }

  private verifyUncached(token: string): AccessClaims {
    let payload: Record<string, unknown>;
    try {
      payload = this.verifier(token);
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) {
        throw new TokenExpiredError();
      }
      throw new InvalidTokenError();
    }
    const { sub, email, role, sid, jti, exp } = payload;
    if (
      typeof sub !== 'string' ||
      typeof email !== 'string' ||
      typeof role !== 'string' ||
      !ROLES.includes(role) ||
      typeof sid !== 'string' ||
      typeof jti !== 'string' ||
      typeof exp !== 'number'
    ) {
      throw new InvalidTokenError();
    }
    return { sub, email, role: role as UserRole, sid, jti, exp };
  }
}

/** Refresh tokens are opaque random strings; only their SHA-256 is stored. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
