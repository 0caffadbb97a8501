import cookie from '@fastify/cookie';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { envelopeSchema, errorResponses, ok } from '../../platform/http/envelope.js';
import { TOKEN_PAIR_EXAMPLE, TokenPairSchema } from './auth.schemas.js';
import type { OidcService } from './oidc.service.js';
import { answerNoStore } from '../../platform/http/no-store.js';

const tags = ['auth'];

/** The browser's key for a sign-in in progress: sent back to the callback only. */
export const OIDC_COOKIE = 'stratum_oidc';

/** OAuth's characters for codes and error fields (RFC 6749, appendix A): printable ASCII. */
const PRINTABLE = '^[\\x20-\\x7E]+$';

/** What the provider appends to the redirect URI: a code and the state, or an error. */
const CallbackQuery = Type.Object({
  state: Type.String({
    minLength: 1,
    maxLength: 512,
    // What authorize issues: base64url.
    pattern: '^[A-Za-z0-9_-]+$',
    description: 'The state the authorize step sent to the provider, as it came back',
    examples: ['kDq3o1aM1YH5b2Yy0Zl4bqkHqj2YgL5cQp8xYw1sT7E'],
  }),
  code: Type.Optional(
    Type.String({
      maxLength: 2048,
      pattern: PRINTABLE,
      description: "The provider's authorization code",
      examples: ['Q3p9xZc1r5Hk2VbN8mL0tY7wE4sA6dF1gJ3hK5lP9oU'],
    }),
  ),
  iss: Type.Optional(
    Type.String({
      maxLength: 2048,
      format: 'uri',
      description: "The provider's issuer (RFC 9207), checked against the discovered one",
      examples: ['https://accounts.example.com'],
    }),
  ),
  error: Type.Optional(
    Type.String({
      maxLength: 256,
      pattern: PRINTABLE,
      description: "The provider's refusal instead of a code (e.g. access_denied)",
      examples: ['access_denied'],
    }),
  ),
  error_description: Type.Optional(
    Type.String({
      maxLength: 2048,
      pattern: PRINTABLE,
      examples: ['The user cancelled the sign-in'],
    }),
  ),
});

/**
 * The key cookie: HttpOnly, and only ever sent to these two routes. SameSite=Lax, not Strict:
 * the callback is a top-level navigation coming from the provider's site, which Strict would
 * strip the cookie from. Secure whenever the request came over TLS.
 */
function cookieOptions(request: FastifyRequest, prefix: string) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    path: `${prefix}/auth/oidc`,
    secure: request.protocol === 'https',
  };
}

/** Sign-in through the configured OpenID provider; registered only when OIDC_* is set. */
export const oidcRoutes: FastifyPluginAsyncTypebox<{ oidc: OidcService }> = async (
  app,
  { oidc },
) => {
  // Here only: the rest of the API neither reads nor sets cookies.
  await app.register(cookie);
  answerNoStore(app);

  app.get(
    '/auth/oidc/authorize',
    {
      schema: {
        tags,
        summary: 'Start a sign-in through the OpenID provider (a browser follows the redirect)',
        description:
          'Redirects to the provider with the authorization code flow, PKCE (S256), a state and ' +
          'a nonce, and sets a short-lived HttpOnly cookie that binds the sign-in to this ' +
          'browser. The browser comes back to the callback.',
        response: {
          302: Type.Null({
            description:
              "To the provider's authorization endpoint (Location); Set-Cookie binds the sign-in",
          }),
          ...errorResponses(429, 502),
        },
      },
    },
    async (request, reply) => {
      const start = await oidc.begin(request.actor);
      void reply.setCookie(OIDC_COOKIE, start.browserKey, {
        ...cookieOptions(request, app.prefix),
        maxAge: start.ttlSeconds,
      });
      return reply.redirect(start.url, 302);
    },
  );

  app.get(
    '/auth/oidc/callback',
    {
      schema: {
        tags,
        summary: "The provider's redirect back: exchange the code and sign in",
        description:
          'Spends the state (once; it must come from the browser that started the sign-in), ' +
          'exchanges the code with the PKCE verifier, checks the ID token, then signs in the ' +
          'linked user, links the verified account holding the same verified address, or ' +
          'creates an account. Answers as login does.',
        querystring: CallbackQuery,
        response: {
          200: envelopeSchema(TokenPairSchema, {
            description: 'A new session: its access and refresh tokens',
            example: TOKEN_PAIR_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 409, 429, 502),
        },
      },
    },
    async (request, reply) => {
      const browserKey = request.cookies[OIDC_COOKIE] || undefined;
      // Spent or refused, the sign-in is over: the browser's key goes either way.
      void reply.clearCookie(OIDC_COOKIE, cookieOptions(request, app.prefix));
      const query = Object.fromEntries(
        Object.entries(request.query).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string',
        ),
      );
      return ok(request, await oidc.complete(request.actor, { query, browserKey }));
    },
  );
};
