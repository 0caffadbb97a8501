import type { JobsOptions, Queue } from 'bullmq';
import { bullmq } from './bullmq-module.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connect.js';
import { RETRYABLE_JOB_AGE_MS, type RetryPolicy } from './job.js';

export interface QueueSettings {
  connection: RedisClient;
  prefix: string;
  retry: RetryPolicy;
}

/** The data a BullMQ job carries; its name is the job type and its id the outbox row id. */
export interface QueuedJob {
  payload: unknown;
  requestId: string | null;
  /** The span that scheduled it; absent on jobs queued before tracing existed. */
  traceparent?: string | null;
}

/**
 * The BullMQ prefix of one queue: `<prefix>:{<queue>}`. BullMQ's scripts touch many keys of a
 * queue at once, which a Redis Cluster allows only within one hash slot; the hash tag (the
 * braces) puts each queue in a slot of its own, so the queues spread over the cluster's nodes.
 * On one server the tag is just part of the name.
 */
export function queueKeyPrefix(prefix: string, queue: string): string {
  return `${prefix}:{${queue}}`;
}

export function jobOptions(retry: RetryPolicy): JobsOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    // Bounded, so Redis doesn't grow forever: finished jobs a day (at most 1,000), failed
    // ones (the dead letters, retryable from the dashboard) a week (at most 10,000).
    removeOnComplete: { age: 24 * 3600, count: 1_000 },
    removeOnFail: { age: RETRYABLE_JOB_AGE_MS / 1000, count: 10_000 },
  };
}

export function openQueues(
  names: string[],
  settings: QueueSettings,
  log: Logger,
): Map<string, Queue> {
  return new Map(
    names.map((name) => {
      const queue = new (bullmq().Queue)(name, {
        connection: settings.connection,
        prefix: queueKeyPrefix(settings.prefix, name),
        defaultJobOptions: jobOptions(settings.retry),
      });
      // Redis going away is expected (the relay waits it out); BullMQ would print it otherwise.
      queue.on('error', (err) => log.debug({ err, queue: name }, 'queue connection error'));
      return [name, queue];
    }),
  );
}

export async function closeQueues(queues: Map<string, Queue>) {
  await Promise.all([...queues.values()].map((q) => q.close()));
}
