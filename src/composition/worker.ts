import Fastify from 'fastify';
import { modules } from '../app.js';
import type { Config } from '../config.js';
import { registerErrorHandling, registerNotFound } from '../platform/http/error-handler.js';
import type { Lifecycle } from '../platform/http/health.js';
import { registerWorkerHealth } from '../platform/http/worker-health.js';
import { startWorkers } from '../platform/jobs/workers.js';
import { loggerOptions } from '../platform/logging/logger.js';
import { OneLineRequestLog } from '../platform/logging/request-log.js';
import type { Mailer } from '../platform/mail/mailer.js';
import type { Dependencies } from './dependencies.js';
import { buildJobs } from './jobs.js';
import { instrument } from './metrics.js';

/**
 * The worker process: BullMQ workers for every queue in the registry, the outbox relay, and a
 * small health server (WORKER_PORT). close() stops taking jobs, lets active ones finish, and
 * releases everything.
 */
export function buildWorker(config: Config, deps: Dependencies, options: { mailer?: Mailer } = {}) {
  const connection = deps.queueRedis;
  if (!connection) throw new Error('the worker needs QUEUE_REDIS_URL or REDIS_URL');
  const lifecycle: Lifecycle = { shuttingDown: false };
  const server = Fastify({
    logger: loggerOptions(config, { base: { role: 'worker' } }),
    logController: new OneLineRequestLog({ requestIdLogLabel: 'requestId' }),
  });
  // The job handlers need the mailer alone; no service is built here.
  const jobs = buildJobs(config, deps, server.log, { modules, mailer: options.mailer });
  registerErrorHandling(server);
  registerNotFound(server);
  const metrics = instrument(server, config, deps, jobs);
  const { workers, progress } = startWorkers(
    jobs.registry,
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      lockDurationMs: config.workerLockDurationMs,
      stalledIntervalMs: config.workerStalledIntervalMs,
    },
    server.log,
  );
  jobs.start();
  registerWorkerHealth(
    server,
    [...(jobs.queues?.values() ?? [])],
    progress,
    config.workerStuckAfterMs,
    lifecycle,
  );
  return {
    server,
    jobs,
    workers,
    metrics,
    async close() {
      lifecycle.shuttingDown = true;
      // Waits for the active jobs; takes no new ones meanwhile.
      await Promise.all(workers.map((w) => w.close()));
      await jobs.close();
      await server.close();
    },
  };
}
