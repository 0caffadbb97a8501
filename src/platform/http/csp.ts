/**
 * A Content-Security-Policy header value. Helmet's policy is off app-wide (JSON answers need
 * none); each HTML page the app serves sets its own, as narrow as the page allows.
 */
export function contentSecurityPolicy(directives: Record<string, string[]>): string {
  return Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(' '))
    .join('; ');
}

/** What every page of the app shares: nothing framed, no base rewriting, no plugins. */
export const PAGE_BASELINE = {
  'base-uri': ["'none'"],
  'object-src': ["'none'"],
  'frame-ancestors': ["'none'"],
};
