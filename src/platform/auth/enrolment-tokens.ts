import { randomUUID } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { InvalidTokenError, TokenExpiredError, type TokenSettings } from './tokens.js';

/** What an enrolment token stands for: one account, allowed to enrol in two-factor only. */
export interface EnrolmentClaims {
  sub: string;
  jti: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The audience suffix that keeps these tokens apart from access tokens. */
export const ENROLMENT_AUDIENCE_SUFFIX = ':two-factor-enrolment';

/**
 * The token an admin gets from sign-in when ADMIN_TWO_FACTOR=required and they have not
 * enrolled yet: a JWT signed with the access tokens' key but for another audience, so the
 * access-token verifier (every route, GraphQL, the admin pages' cookie) refuses it. Only the
 * routes that declare `config.twoFactorEnrolment` try this verifier, and then act for the
 * account as a plain user (see src/platform/auth/authenticate.ts). It carries no session and
 * no role: it can't be refreshed, and it ends with its short lifetime.
 */
export class EnrolmentTokens {
  private readonly signer: (payload: Record<string, unknown>) => string;
  private readonly verifier: (token: string) => Record<string, unknown>;

  constructor(
    settings: Pick<TokenSettings, 'secret' | 'algorithm' | 'issuer' | 'audience'>,
    readonly ttlMs: number,
  ) {
    const key = Buffer.from(settings.secret);
    const aud = `${settings.audience}${ENROLMENT_AUDIENCE_SUFFIX}`;
    this.signer = createSigner<Record<string, unknown>>({
      key,
      algorithm: settings.algorithm,
      iss: settings.issuer,
      aud,
      expiresIn: ttlMs,
    });
    this.verifier = createVerifier({
      key,
      algorithms: [settings.algorithm],
      allowedIss: settings.issuer,
      allowedAud: aud,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      maxAge: ttlMs,
    }) as (token: string) => Record<string, unknown>;
  }

  sign(userId: string): string {
    return this.signer({ sub: userId, jti: randomUUID() });
  }

  verify(token: string): EnrolmentClaims {
    let payload: Record<string, unknown>;
    try {
      payload = this.verifier(token);
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) {
        throw new TokenExpiredError();
      }
      throw new InvalidTokenError();
    }
    const { sub, jti } = payload;
    if (typeof sub !== 'string' || !UUID.test(sub) || typeof jti !== 'string') {
      throw new InvalidTokenError();
    }
    return { sub, jti };
  }
}
