import type { FastifyInstance } from 'fastify';

/**
 * Every answer of the routes registered in `app` (its plugin scope), errors included, as an
 * error may echo what was sent: `no-store` (and HTTP/1.0's `pragma: no-cache`), so no browser,
 * proxy or CDN keeps tokens, credentials or what a user's account holds (RFC 6749 §5.1).
 */
export function answerNoStore(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.header('cache-control', 'no-store');
    void reply.header('pragma', 'no-cache');
    return payload;
  });
}
