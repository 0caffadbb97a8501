import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { DatabaseHandle } from '../db/database.js';
import type { OutboxRepository } from '../jobs/outbox.repository.js';
import type { Metrics } from './metrics.js';

/** The gauges read at scrape time: the connection pool, the outbox backlog, the queues. */
export function watchSources(
  metrics: Metrics,
  sources: { database: DatabaseHandle; outbox: OutboxRepository; queues: Queue[] },
): void {
  metrics.gaugeFrom(
    'stratum_db_pool_connections',
    'Database pool connections by state (in_use, idle, waiting = requests queued for one)',
    ['state'],
    async (set) => {
      const { total, idle, waiting } = sources.database.poolStats();
      set({ state: 'in_use' }, total - idle);
      set({ state: 'idle' }, idle);
      set({ state: 'waiting' }, waiting);
    },
  );
  metrics.gaugeFrom(
    'stratum_outbox_backlog',
    'Outbox rows not yet handed to the queue (or, without Redis, not yet run)',
    [],
    async (set) => set({}, await sources.outbox.countPending()),
  );
  metrics.gaugeFrom(
    'stratum_queue_jobs',
    'BullMQ jobs by queue and state',
    ['queue', 'state'],
    async (set) => {
      for (const queue of sources.queues) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
        for (const [state, count] of Object.entries(counts))
          set({ queue: queue.name, state }, count);
      }
    },
  );
}

/** Request durations by route template (never the raw URL: ids would explode the series). */
export function observeRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
}
