import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../../errors.js';

/** The host a header's URL names, or undefined for a missing, `null` or malformed value. */
function hostOf(value: string | undefined): string | undefined {
  if (!value || value === 'null') return undefined;
  try {
    return new URL(value).host;
  } catch {
    return undefined;
  }
}

/**
 * Refuses (403) a request that doesn't show it was sent by a page of this site: its Origin (or,
 * when a browser sends none, its Referer) must name the host the request was sent to. A
 * browser sets both itself and no page can forge them, so a form or script on another site
 * can't act with the admin cookie, even where SameSite isn't honoured. A request with neither
 * is refused too: every browser sends Origin on a POST.
 */
export function requireSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  const source = hostOf(origin ?? request.headers.referer);
  if (source !== undefined && source === request.host) return;
  throw new ForbiddenError(
    origin === undefined && request.headers.referer === undefined
      ? 'Cross-site request refused: the request carries neither Origin nor Referer'
      : 'Cross-site request refused: Origin does not match the host',
    'CROSS_SITE_REQUEST',
  );
}
