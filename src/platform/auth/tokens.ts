import { createHash, createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
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

export class AccessTokens {
  // Imported once: jose would otherwise import the raw bytes again on every sign and verify.
  private readonly key: KeyObject;

  constructor(private readonly settings: TokenSettings) {
    this.key = createSecretKey(settings.secret);
  }

  async sign(user: { id: string; email: string; role: UserRole }, sid: string) {
    const jti = randomUUID();
    const token = await new SignJWT({ email: user.email, role: user.role, sid })
      .setProtectedHeader({ alg: this.settings.algorithm, typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime(new Date(Date.now() + this.settings.accessTtlMs))
      .sign(this.key);
    return { token, jti };
  }

  /** Verifies signature, algorithm (pinned), issuer, audience and expiry. */
  async verify(token: string): Promise<AccessClaims> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: [this.settings.algorithm],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new TokenExpiredError();
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
