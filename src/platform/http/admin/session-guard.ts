import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorForToken } from '../../auth/authenticate.js';
import { authorize, type Permission } from '../../auth/permissions.js';
import type { RevocationList } from '../../auth/revocations.js';
import type { AccessTokens } from '../../auth/tokens.js';
import { AppError, UnauthorizedError } from '../../errors.js';
import { LOGIN_PATH } from './login-page.js';
import { requireSameOrigin } from './same-origin.js';
import { sessionCookieOf } from './session-cookie.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Why the admin cookie's token was refused (expired, revoked…); the request is a guest. */
    adminSessionError: AppError | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * For every request under /admin: without an Authorization header, the session cookie's token
 * becomes request.actor, verified exactly as a Bearer token is (signature, claims, lifetime,
 * deny list). A refused cookie leaves a guest, so a browser is sent to sign in again.
 *
 * Then CSRF: a state-changing request that doesn't carry its credentials in a header (the
 * cookie's actions, the sign-in form, sign-out) must come from a page of this site. A Bearer
 * client is exempt: no other site can make a browser send that header.
 */
export function registerSessionCookie(
  scope: FastifyInstance,
  tokens: AccessTokens,
  revocations: RevocationList,
) {
  scope.decorateRequest('adminSessionError', null);
  scope.addHook('onRequest', async (request) => {
    if (request.headers.authorization !== undefined) return;
    if (!SAFE_METHODS.has(request.method)) requireSameOrigin(request);
    const token = sessionCookieOf(request);
    if (!token) return;
    try {
      request.actor = await actorForToken(request, token, tokens, revocations);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      request.adminSessionError = err;
    }
  });
}

/** A person's browser asking for a page, as opposed to the UI's own calls or an API client. */
function wantsPage(request: FastifyRequest): boolean {
  return (
    (request.method === 'GET' || request.method === 'HEAD') &&
    (request.headers.accept ?? '').includes('text/html')
  );
}

/**
 * Pre-handler of the dashboard: `permission` holders only. A guest's browser is sent to the
 * sign-in page (303); anything else gets the JSON answer: 401 (with the reason a cookie was
 * refused, when one was) or 403.
 */
export function requireAdmin(permission: Permission) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.actor.userId === null) {
      if (wantsPage(request)) return reply.redirect(LOGIN_PATH, 303);
      throw request.adminSessionError ?? new UnauthorizedError();
    }
    authorize(request.actor, permission);
  };
}
