import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { requirePermission } from '../auth/permissions.js';

export const QUEUES_DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board over the queues, for `manage:queues` only (admins): the same Bearer token as the
 * API, checked before bull-board sees the request, its pages, assets and actions alike.
 * Failed jobs (the dead letters) can be inspected and retried there.
 */
export async function registerQueuesDashboard(app: FastifyInstance, queues: Queue[]) {
  const board = new FastifyAdapter();
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    // @bull-board/fastify 9.10.1 nests its own @bull-board/api 9.10.1 next to the top-level
    // 9.10.2: the same interface, but private fields make the two declarations incompatible.
    serverAdapter: board as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
  });
  // bull-board answers errors in its own format (with stacks); rethrown, they reach the parent
  // scope's handler, the API's one, like any other error.
  board.setErrorHandler((error) => {
    throw error;
  });
  board.setBasePath(QUEUES_DASHBOARD_PATH);
  await app.register(
    async (scope) => {
      scope.addHook('preHandler', requirePermission('manage:queues'));
      await scope.register(board.registerPlugin());
    },
    { prefix: QUEUES_DASHBOARD_PATH },
  );
}
