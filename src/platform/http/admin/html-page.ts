import type { FastifyReply } from 'fastify';
import { contentSecurityPolicy, PAGE_BASELINE } from '../csp.js';
import { htmlDocument } from '../html-document.js';

/**
 * The admin pages' own HTML (sign-in, sign-out, the outbox): no script at all and no file from
 * anywhere, only the style in the page; forms post to this origin only.
 */
const ADMIN_PAGE_CSP = contentSecurityPolicy({
  'default-src': ["'none'"],
  'style-src': ["'unsafe-inline'"],
  'form-action': ["'self'"],
  ...PAGE_BASELINE,
});

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; background: #f5f6f8; color: #1d2330; }
main { max-width: 72rem; margin: 2rem auto; padding: 0 1rem; }
.card { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 1.5rem; }
.narrow { max-width: 24rem; margin: 4rem auto; }
label { display: block; margin: 0.75rem 0 0.25rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: 0.5rem; font: inherit; }
button { margin-top: 1rem; padding: 0.5rem 1rem; font: inherit; cursor: pointer; }
.error { background: #fdecec; border: 1px solid #f3b6b6; padding: 0.5rem 0.75rem; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; font-size: 13px; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid #e4e7ec; vertical-align: top; }
td.error-text { max-width: 28rem; overflow-wrap: anywhere; color: #8a1f1f; }
.counts { display: flex; gap: 1rem; margin: 1rem 0 2rem; }
.count { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 0.75rem 1.25rem; }
.count strong { display: block; font-size: 1.6rem; }
header { display: flex; justify-content: space-between; align-items: center; }
header form button { margin: 0; }
`;

/** A complete page around `body` (already escaped HTML). */
export function renderPage(title: string, body: string): string {
  return htmlDocument(title, `<style>${STYLE}</style>`, body);
}

/** Sends an admin page: never cached (it shows live state or a form), under the pages' CSP. */
export function sendPage(reply: FastifyReply, status: number, html: string) {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', ADMIN_PAGE_CSP)
    .header('cache-control', 'no-store')
    .send(html);
}
