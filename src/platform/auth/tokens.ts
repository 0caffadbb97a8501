import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
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
 */
export class AccessTokens {
  private readonly signer: Signer;
  private readonly verifier: Verifier;

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
      cache: 10_000,
    }) as Verifier;
  }

  async sign(user: { id: string; email: string; role: UserRole }, sid: string) {
    const jti = randomUUID();
    const token = this.signer({ sub: user.id, email: user.email, role: user.role, sid, jti });
    return { token, jti };
  }

  /** Verifies signature, algorithm (pinned), issuer, audience and expiry. */
  async verify(token: string): Promise<AccessClaims> {
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
