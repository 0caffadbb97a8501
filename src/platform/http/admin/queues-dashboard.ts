import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import { contentSecurityPolicy, PAGE_BASELINE } from '../csp.js';
import type { Dashboard } from './admin.js';
import { LOGOUT_PATH } from './login-page.js';

/**
 * bull-board's pages load only its own files, except a Google Fonts stylesheet: kept out (the
 * browser reports it blocked), the UI falls back to system fonts and the dashboard makes no
 * request off this site. Its pages use
 * inline styles; its one inline script is JSON data (type application/json), which never runs.
 */
const BULL_BOARD_CSP = contentSecurityPolicy({
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  ...PAGE_BASELINE,
  // Its page sets <base href> to the dashboard's path, which its relative file URLs rely on.
  'base-uri': ["'self'"],
});

/**
 * bull-board over the queues: their jobs, and the failed ones (the dead letters) to inspect
 * and retry. The admin pages' guard stands before it, for its pages, files and actions alike.
 */
export function bullBoardDashboard(queues: Queue[]): Dashboard {
  return async (scope, basePath) => {
    const board = new FastifyAdapter();
    createBullBoard({
      queues: queues.map((q) => new BullMQAdapter(q)),
      // @bull-board/fastify 9.10.1 nests its own @bull-board/api 9.10.1 next to the top-level
      // 9.10.2: the same interface, but private fields make the two declarations incompatible.
      serverAdapter: board as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
      options: {
        uiConfig: {
          // Its menu can only link: the link opens a page with the sign-out button.
          miscLinks: [{ text: 'Sign out', url: LOGOUT_PATH }],
          hideDocsLink: true,
        },
      },
    });
    // bull-board answers errors in its own format (with stacks); rethrown, they reach the
    // parent scope's handler, the API's one, like any other error.
    board.setErrorHandler((error) => {
      throw error;
    });
    board.setBasePath(basePath);
    scope.addHook('onSend', async (_request, reply, payload) => {
      if (String(reply.getHeader('content-type')).startsWith('text/html')) {
        void reply.header('content-security-policy', BULL_BOARD_CSP);
      }
      return payload;
    });
    await scope.register(board.registerPlugin());
  };
}
