import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from './health.js';
import type { Progress } from '../jobs/workers.js';

async function waitingCount(queues: Queue[]): Promise<number> {
  const counts = await Promise.all(queues.map((q) => q.getJobCounts('wait', 'prioritized')));
  return counts.reduce((sum, c) => sum + (c.wait ?? 0) + (c.prioritized ?? 0), 0);
}

/**
 * Readiness of a worker is progress, not just connectivity: 200 while it takes or finishes
 * jobs or has nothing to do; 503 when jobs wait and none was taken or finished for
 * `stuckAfterMs` (the worker is wedged or its Redis is gone), and from the moment it stops.
 */
export function registerWorkerHealth(
  app: FastifyInstance,
  queues: Queue[],
  progress: Progress,
  stuckAfterMs: number,
  lifecycle: Lifecycle,
) {
  app.get('/health/live', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { logLevel: 'warn' }, async (_request, reply) => {
    if (lifecycle.shuttingDown) return reply.status(503).send({ status: 'shutting down' });
    let waiting: number;
    try {
      waiting = await waitingCount(queues);
    } catch (err) {
      return reply.status(503).send({ status: 'unavailable', reason: (err as Error).message });
    }
    const idleMs = Date.now() - progress.lastProgressAt;
    const stuck = waiting > 0 && idleMs > stuckAfterMs;
    return reply
      .status(stuck ? 503 : 200)
      .send({ status: stuck ? 'stuck' : 'ok', waiting, msSinceProgress: idleMs });
  });
}
