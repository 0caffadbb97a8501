import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppError } from '../errors.js';
import { anonymous, type Actor } from './actor.js';
import type { RevocationList } from './revocations.js';
import { namedPlugin } from '../http/plugin.js';
import type { EnrolmentTokens } from './enrolment-tokens.js';
import { InvalidTokenError, type AccessTokens } from './tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route checks the Authorization header itself; a token that isn't a JWT is fine. */
    ownAuthorization?: boolean;
    /**
     * The route also takes an enrolment token (an admin who must enrol in two-factor before
     * anything else): the only routes that do. See src/platform/auth/enrolment-tokens.ts.
     */
    twoFactorEnrolment?: boolean;
  }
  interface FastifyRequest {
    /** Who is asking; a guest unless a valid Bearer token came with the request. */
    actor: Actor;
    /** Why the presented token was refused; answered after the rate limit has counted it. */
    authError: AppError | null;
  }
}

/** The User-Agent as sent, cut to a length worth storing. */
function userAgentOf(request: FastifyRequest): string | undefined {
  return request.headers['user-agent']?.slice(0, 512);
}

function guestOf(request: FastifyRequest): Actor {
  return { ...anonymous, ip: request.ip, userAgent: userAgentOf(request), requestId: request.id };
}

async function actorFrom(
  request: FastifyRequest,
  tokens: AccessTokens,
  revocations: RevocationList,
  enrolment: EnrolmentTokens | undefined,
): Promise<Actor> {
  const header = request.headers.authorization;
  if (header === undefined) return guestOf(request);
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
  if (!match) throw new InvalidTokenError('Authorization must be "Bearer <token>"');
  try {
    return await actorForToken(request, match[1]!, tokens, revocations);
  } catch (err) {
    if (!enrolment || !request.routeOptions.config.twoFactorEnrolment) throw err;
    return enrolmentActor(request, match[1]!, enrolment, err);
  }
}

/**
 * The account an enrolment token names, as a plain user with no session: whatever its role,
 * the token opens only its own enrolment. `accessError` is answered when it isn't one either.
 */
function enrolmentActor(
  request: FastifyRequest,
  token: string,
  enrolment: EnrolmentTokens,
  accessError: unknown,
): Actor {
  let claims;
  try {
    claims = enrolment.verify(token);
  } catch {
    throw accessError;
  }
  return {
    userId: claims.sub,
    role: 'user',
    tokenId: claims.jti,
    ip: request.ip,
    userAgent: userAgentOf(request),
    requestId: request.id,
  };
}

/**
 * The actor an access token stands for, whichever way it came (the Bearer header, the admin
 * pages' cookie): signature, claims and lifetime verified, and refused once on the deny list.
 */
export async function actorForToken(
  request: FastifyRequest,
  token: string,
  tokens: AccessTokens,
  revocations: RevocationList,
): Promise<Actor> {
  const claims = await tokens.verify(token);
  if (await revocations.isRevoked(claims.jti, claims.sid)) {
    throw new InvalidTokenError('Access token has been revoked');
  }
  return {
    userId: claims.sub,
    role: claims.role,
    sessionId: claims.sid,
    tokenId: claims.jti,
    emailVerified: claims.ev === true,
    ip: request.ip,
    userAgent: userAgentOf(request),
    requestId: request.id,
  };
}

/**
 * Turns the Bearer token into `request.actor`. A bad token leaves the actor a guest and is
 * refused in preValidation, after the rate limiter (keyed by user or address) has counted it.
 */
function registerAuthentication(
  app: FastifyInstance,
  tokens: AccessTokens,
  revocations: RevocationList,
  enrolment: EnrolmentTokens | undefined,
) {
  // Set on every request by the hook below; null only keeps the request's shape stable.
  app.decorateRequest('actor', null as unknown as Actor);
  app.decorateRequest('authError', null);
  app.addHook('onReady', async () => revocations.start());
  app.addHook('onClose', async () => revocations.stop());
  app.addHook('onRequest', async (request) => {
    try {
      request.actor = await actorFrom(request, tokens, revocations, enrolment);
    } catch (err) {
      request.actor = guestOf(request);
      request.authError = err as AppError;
    }
  });
  app.addHook('preValidation', async (request) => {
    // A route with its own scheme (the metrics token) isn't refused for a non-JWT bearer.
    if (request.authError && !request.routeOptions.config.ownAuthorization) throw request.authError;
  });
}

/** Authentication, after the request id and the version check (an unknown version is refused first). */
export const authenticationPlugin = namedPlugin<{
  tokens: AccessTokens;
  revocations: RevocationList;
  /** Enrolment tokens, for the routes that take them (two-factor enrolment). */
  enrolmentTokens?: EnrolmentTokens;
}>(
  async (app, { tokens, revocations, enrolmentTokens }) =>
    registerAuthentication(app, tokens, revocations, enrolmentTokens),
  {
    name: 'authentication',
    dependencies: ['request-id', 'api-versioning'],
  },
);
