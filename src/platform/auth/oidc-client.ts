import * as client from 'openid-client';
import { AppError } from '../errors.js';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The callback as the provider sees it (registered with the provider as a redirect URI). */
  redirectUri: string;
  scopes: readonly string[];
}

/** What one sign-in needs kept between the redirect to the provider and the callback. */
export interface OidcChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Who the provider says signed in: its subject, and the claims used to find or make a user. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
}

/** Seconds the provider has for each request (discovery, token, userinfo). */
const PROVIDER_TIMEOUT_S = 10;

/** openid-client's codes for a provider that didn't answer, or not in OAuth's terms. */
const UNREACHABLE = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
]);

export type OidcFailure = 'provider-error' | 'code-rejected' | 'response-invalid';

/** Sign-in refused by the provider or by a check on its answer: 401 with details.reason. */
export class OidcSignInError extends AppError {
  constructor(
    readonly reason: OidcFailure,
    message: string,
  ) {
    super(401, 'OIDC_SIGN_IN_FAILED', message, { reason }, { 'www-authenticate': 'Bearer' });
  }
}

function unavailable(issuer: string) {
  return new AppError(
    502,
    'OIDC_PROVIDER_UNAVAILABLE',
    `The OpenID provider ${issuer} did not answer or answered unusably; try again later`,
  );
}

/**
 * The relying party's side of the authorization code flow, over openid-client. The provider's
 * metadata is discovered on first use and kept; a failed discovery is not kept, so the next
 * sign-in tries again once the provider is back.
 */
export class OidcClient {
  private discovered?: Promise<client.Configuration>;

  constructor(private readonly settings: OidcSettings) {}

  get issuer(): string {
    return this.settings.issuer;
  }

  /** Fresh state, nonce and PKCE verifier, each single-use, from a CSPRNG. */
  static newChecks(): OidcChecks {
    return {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
  }

  /** Where to send the browser: the provider's authorization endpoint with PKCE S256. */
  async authorizationUrl(checks: OidcChecks): Promise<URL> {
    const config = await this.configuration();
    return client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes.join(' '),
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  /**
   * Spends the code the callback carries: openid-client checks the state, the issuer of the
   * answer, the ID token's signature, iss, aud, expiry and nonce, and PKCE binds the code to
   * this verifier. Claims missing from the ID token (a provider may keep email for userinfo)
   * are asked of the userinfo endpoint, for the same subject.
   */
  async exchange(callbackQuery: Record<string, string>, checks: OidcChecks): Promise<OidcIdentity> {
    const config = await this.configuration();
    const current = new URL(this.settings.redirectUri);
    for (const [key, value] of Object.entries(callbackQuery)) {
      current.searchParams.set(key, value);
    }
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      let profile: Record<string, unknown> = claims;
      if (claims.email === undefined && config.serverMetadata().userinfo_endpoint) {
        profile = {
          ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)),
          ...claims,
        };
      }
      return {
        issuer: claims.iss,
        subject: claims.sub,
        email: typeof profile.email === 'string' ? profile.email : undefined,
        // Only a literal true counts: some providers send "true" as a string, or nothing.
        emailVerified: profile.email_verified === true,
        name: typeof profile.name === 'string' ? profile.name : undefined,
      };
    } catch (err) {
      throw this.failure(err);
    }
  }

  private configuration(): Promise<client.Configuration> {
    this.discovered ??= this.discover().catch((err: unknown) => {
      this.discovered = undefined;
      throw err;
    });
    return this.discovered;
  }

  private async discover(): Promise<client.Configuration> {
    const issuer = new URL(this.settings.issuer);
    try {
      return await client.discovery(
        issuer,
        this.settings.clientId,
        this.settings.clientSecret,
        undefined,
        {
          timeout: PROVIDER_TIMEOUT_S,
          // Configuration allows http: only for a loopback issuer (src/config.ts).
          execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
        },
      );
    } catch {
      throw unavailable(this.settings.issuer);
    }
  }

  /** What went wrong, as the API's errors: the provider's refusal, a bad answer, or no answer. */
  private failure(err: unknown): AppError {
    if (err instanceof client.AuthorizationResponseError) {
      return new OidcSignInError('provider-error', `The provider answered ${err.error}`);
    }
    if (err instanceof client.ResponseBodyError) {
      // invalid_grant: the code was used, expired, or PKCE did not match.
      if (err.status < 500) {
        return new OidcSignInError('code-rejected', `The provider refused the code: ${err.error}`);
      }
      return unavailable(this.settings.issuer);
    }
    if (err instanceof client.WWWAuthenticateChallengeError) {
      return new OidcSignInError(
        'response-invalid',
        'The userinfo endpoint refused the access token its provider issued',
      );
    }
    if (err instanceof client.ClientError) {
      if (UNREACHABLE.has(err.code ?? '') || err.cause instanceof TypeError) {
        return unavailable(this.settings.issuer);
      }
      return new OidcSignInError(
        'response-invalid',
        `The provider's answer failed a check: ${err.message}`,
      );
    }
    // fetch() itself failed (refused, reset, DNS): openid-client passes its TypeError through.
    if (err instanceof TypeError && err.message.startsWith('fetch failed')) {
      return unavailable(this.settings.issuer);
    }
    throw err;
  }
}
