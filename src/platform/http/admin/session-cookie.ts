// The cookie plugin's declarations: request.cookies, reply.setCookie and clearCookie.
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The admin pages' session: an access token in a cookie the browser sends under /admin only. */
export const ADMIN_COOKIE = 'stratum_admin';
export const ADMIN_PATH = '/admin';

/**
 * HttpOnly: no script reads the token. SameSite=Strict: no other site's page makes the browser
 * send it. Path=/admin: the API never sees it (the API takes Bearer tokens only, so a cookie
 * there could not be abused as a credential anyway). Secure whenever the request came over TLS,
 * as the app sees it (TRUST_PROXY decides whether a proxy's X-Forwarded-Proto counts).
 */
function options(request: FastifyRequest) {
  return {
    httpOnly: true,
    sameSite: 'strict' as const,
    path: ADMIN_PATH,
    secure: request.protocol === 'https',
  };
}

/** The cookie lives as long as the token in it: a browser doesn't send a token known expired. */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  maxAgeSeconds: number,
) {
  void reply.setCookie(ADMIN_COOKIE, token, { ...options(request), maxAge: maxAgeSeconds });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply) {
  void reply.clearCookie(ADMIN_COOKIE, options(request));
}

export function sessionCookieOf(request: FastifyRequest): string | undefined {
  return request.cookies[ADMIN_COOKIE] || undefined;
}
