import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { LRUCache } from 'lru-cache';
import type { UserRole } from '../db/schema.js';
import { UnauthorizedError } from '../errors.js';
import { open, seal } from './sealed-secrets.js';

export interface TokenSettings {
  secret: Uint8Array;
  algorithm: 'HS256' | 'HS384' | 'HS512';
  issuer: string;
  audience: string;
  accessTtlMs: number;
  /**
   * How far a clock may run ahead of ours: bounds `iat` and pads the lifetime bound.
   * JWT_CLOCK_SKEW; DEFAULT_CLOCK_SKEW_MS when left out.
   */
  clockSkewMs?: number;
}

export const DEFAULT_CLOCK_SKEW_MS = 30_000;

/** Only what authorisation needs: anything else in a token is readable by whoever holds it. */
export interface AccessClaims {
  sub: string;
  role: UserRole;
  /** The refresh-token family (one per login): revoking it cuts off its access tokens too. */
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  /**
   * The account's email was verified when the token was issued (sign-in or refresh): the money
   * services read it here instead of the users table. Absent reads as not verified.
   */
  ev?: boolean;
}

const ROLES: readonly string[] = ['admin', 'user', 'guest'];

// Canonical form only: these claims reach SQL as uuid parameters and the deny list as keys, so
// an upper-case or brace-wrapped spelling must not pass as a second name for the same id.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

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

interface Verified {
  claims: AccessClaims;
  /** The earlier of `exp` and the lifetime bound, in ms. */
  expiresAtMs: number;
}

/**
 * Access tokens with fast-jwt (the library behind @fastify/jwt): synchronous HMAC with the key
 * imported once, and a small cache of verified tokens, because every request verifies one.
 * The algorithm is pinned on verification; issuer, audience and expiry are checked, and every
 * claim's shape: a token signed with the key is still only as good as what it carries.
 *
 * A token lives at most JWT_ACCESS_TTL (plus the clock skew) from its `iat`, whatever its
 * `exp` says: a token minted with a longer lifetime (a leaked key, a TTL lowered since) ends
 * with the ones issued today.
 *
 * The cache is keyed by the token itself (fast-jwt's own keys by a SHA-256 of it: a hash per
 * request for nothing, as the token is already a unique key) and a hit is still checked
 * against its bounded expiry.
 */
export class AccessTokens {
  private readonly signer: Signer;
  private readonly verifier: Verifier;
  private readonly verified = new LRUCache<string, Verified>({ max: 10_000 });

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
      requiredClaims: ['sub', 'role', 'sid', 'jti', 'exp', 'iat'],
    }) as Verifier;
  }

  async sign(user: { id: string; role: UserRole; emailVerified?: boolean }, sid: string) {
    const jti = randomUUID();
    const ev = user.emailVerified === true;
    const token = this.signer({ sub: user.id, role: user.role, sid, jti, ev });
    return { token, jti };
  }

  /** Verifies signature, algorithm (pinned), issuer, audience, the claims and the lifetime. */
  async verify(token: string): Promise<AccessClaims> {
    const cached = this.verified.get(token);
    if (cached && Date.now() <= cached.expiresAtMs) return cached.claims;
    const verified = this.verifyUncached(token);
    this.verified.set(token, verified);
    return verified.claims;
  }

  private verifyUncached(token: string): Verified {
    let payload: Record<string, unknown>;
    try {
      payload = this.verifier(token);
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) {
        throw new TokenExpiredError();
      }
      throw new InvalidTokenError();
    }
    const { sub, role, sid, jti, iat, exp } = payload;
    if (
      !isUuid(sub) ||
      !isUuid(sid) ||
      !isUuid(jti) ||
      typeof role !== 'string' ||
      !ROLES.includes(role) ||
      !Number.isSafeInteger(iat) ||
      !Number.isSafeInteger(exp)
    ) {
      throw new InvalidTokenError();
    }
    const issuedAtMs = (iat as number) * 1000;
    const now = Date.now();
    const { accessTtlMs, clockSkewMs = DEFAULT_CLOCK_SKEW_MS } = this.settings;
    if (issuedAtMs > now + clockSkewMs) throw new InvalidTokenError();
    const expiresAtMs = Math.min((exp as number) * 1000, issuedAtMs + accessTtlMs + clockSkewMs);
    if (now > expiresAtMs) throw new TokenExpiredError();
    const claims = {
      sub,
      role: role as UserRole,
      sid,
      jti,
      iat: iat as number,
      exp: exp as number,
      ev: payload.ev === true,
    };
    return { claims, expiresAtMs };
  }
}

/** Refresh tokens are opaque random strings; only their SHA-256 is stored. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The longest JWT_REFRESH_REUSE_GRACE; a sealed successor older than this is never opened. */
export const REFRESH_REUSE_GRACE_MAX_MS = 60_000;

// Its own prefix, so the key is not the stored token hash (SHA-256 of the bare token): the
// database holds the hash but nothing that opens the sealed successor.
function successorKey(spentToken: string): Buffer {
  return createHash('sha256').update('stratum:refresh-successor:v1\0').update(spentToken).digest();
}

/**
 * Encrypts a spent refresh token's successor under a key only the spent token yields
 * (AES-256-GCM): the holder of the spent token can be handed its successor again, a reader of
 * the database can't. `context` (the family id) is authenticated, so a sealed value moved to
 * another family's row does not open.
 */
export function sealSuccessor(spentToken: string, successor: string, context: string): Buffer {
  return seal(successorKey(spentToken), successor, context);
}

/** The successor sealed by sealSuccessor, or undefined when the token or context don't fit. */
export function openSuccessor(
  spentToken: string,
  sealed: Uint8Array,
  context: string,
): string | undefined {
  return open(successorKey(spentToken), sealed, context);
}
