import type { Logger } from '../logger.js';
import { backoffDelay, type RetryPolicy } from './job.js';
import type { OutboxRepository, OutboxRow } from './outbox.repository.js';
import { Poller } from './poller.js';
import type { JobRegistry } from './registry.js';
import { runJob } from './run.js';

export interface InProcessSettings {
  pollMs: number;
  concurrency: number;
  /** A claimed row is reserved this long; a process that died holding it loses it after. */
  leaseMs: number;
  retry: RetryPolicy;
}

/**
 * Without Redis, the outbox is the queue: the same handlers run in this process with BullMQ's
 * policy (attempts, exponential backoff, then dead: failed_at set, last_error kept).
 */
export function createInProcessRunner(
  outbox: OutboxRepository,
  registry: JobRegistry,
  settings: InProcessSettings,
  log: Logger,
) {
  /** True when the job ran to the end: its row is then marked sent with the batch's. */
  async function runRow(row: OutboxRow): Promise<boolean> {
    // Claimed more often than allowed: earlier holders died mid-job (BullMQ calls it stalled).
    if (row.attempts > settings.retry.attempts) {
      await outbox.markFailed(row.id, 'job stalled more often than its attempts allow');
      return false;
    }
    try {
      await runJob(
        registry,
        {
          jobId: row.id,
          type: row.type,
          payload: row.payload,
          requestId: row.requestId,
          traceparent: row.traceparent,
          attempt: row.attempts,
        },
        log,
      );
    } catch (err) {
      const reason = (err as Error).message;
      if (row.attempts >= settings.retry.attempts) {
        log.error({ jobId: row.id, attempt: row.attempts, reason }, 'job failed for good');
        await outbox.markFailed(row.id, reason);
      } else {
        await outbox.release([row.id], backoffDelay(settings.retry, row.attempts), reason);
      }
      return false;
    }
    return true;
  }

  async function drainOnce(): Promise<boolean> {
    const rows = await outbox.claim(settings.concurrency, settings.leaseMs);
    const done = await Promise.all(rows.map(runRow));
    // One statement for the batch: a crash before it runs the jobs again, and their handlers
    // are idempotent (an email's delivery record stops a second send).
    await outbox.markSent(rows.filter((_, i) => done[i]).map((row) => row.id));
    return rows.length === settings.concurrency;
  }

  return new Poller(drainOnce, settings.pollMs, log);
}
