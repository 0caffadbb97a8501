import type { Worker } from 'bullmq';
import { bullmq } from './bullmq-module.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connect.js';
import { queueKeyPrefix, type QueuedJob } from './bullmq.js';
import type { JobRegistry } from './registry.js';
import { runJob } from './run.js';

export interface WorkerSettings {
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
}

/** When the workers last took or finished a job, or found the queue empty: readiness reads it. */
export interface Progress {
  lastProgressAt: number;
}

/**
 * One BullMQ Worker per queue, each running the registry's handlers. Retries and backoff come
 * from the job options the relay set; a job that used its last attempt stays failed (the dead
 * letter), retryable from the dashboard. A worker that dies mid-job stops renewing its lock;
 * after lockDuration the stalled-job check hands the job to another worker.
 */
export function startWorkers(
  registry: JobRegistry,
  settings: WorkerSettings,
  log: Logger,
): { workers: Worker[]; progress: Progress } {
  const progress: Progress = { lastProgressAt: Date.now() };
  const workers = registry.queueNames().map((name) => {
    const worker = new (bullmq().Worker)<QueuedJob>(
      name,
      async (job) => {
        await runJob(
          registry,
          {
            jobId: job.id ?? 'unknown',
            type: job.name,
            payload: job.data.payload,
            requestId: job.data.requestId,
            traceparent: job.data.traceparent,
            attempt: job.attemptsMade + 1,
          },
          log,
        );
      },
      {
        connection: settings.connection,
        prefix: queueKeyPrefix(settings.prefix, name),
        concurrency: settings.concurrency,
        lockDuration: settings.lockDurationMs,
        stalledInterval: settings.stalledIntervalMs,
      },
    );
    const moved = () => (progress.lastProgressAt = Date.now());
    worker.on('active', moved);
    worker.on('completed', moved);
    worker.on('drained', moved);
    worker.on('failed', (job, err) => {
      moved();
      const attempts = job?.opts.attempts ?? 1;
      if (job && job.attemptsMade >= attempts) {
        log.error(
          { jobId: job.id, jobType: job.name, attempt: job.attemptsMade, reason: err.message },
          'job failed for good; it stays in the failed list (retry it from /admin/queues)',
        );
      }
    });
    worker.on('stalled', (jobId) => log.warn({ jobId, queue: name }, 'job stalled; retrying it'));
    worker.on('error', (err) => log.error({ err, queue: name }, 'worker error'));
    return worker;
  });
  return { workers, progress };
}
