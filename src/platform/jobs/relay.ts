import type { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import { replicated, type RedisClient } from '../redis/connect.js';
import type { QueuedJob } from './bullmq.js';
import type { OutboxRepository, OutboxRow } from './outbox.repository.js';
import { Poller } from './poller.js';
import type { JobRegistry } from './registry.js';

export interface RelaySettings {
  pollMs: number;
  batchSize: number;
  /** How long a claimed row is reserved for this relay; after it another relay may take it. */
  leaseMs: number;
  /** Give up on a queue that doesn't answer; the rows are claimable again. */
  addTimeoutMs: number;
  /**
   * Replicas that must hold the added jobs before their rows are marked sent (0: the master's
   * word is enough), and how long to wait for them. See docs/operations/redis-ha.md.
   */
  waitReplicas: number;
  waitTimeoutMs: number;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Moves pending outbox rows to their BullMQ queues, then marks them sent. The job id is the
 * row id, so a row added twice (the relay died between add and mark) is still one job.
 * While Redis is away nothing is claimed: rows wait in PostgreSQL, delayed but never lost.
 * Behind Sentinel a row is marked sent only once a replica has its job too (WAIT): a failover
 * loses what the old master had not passed on, and a row marked sent is never relayed again.
 */
export function createOutboxRelay(
  outbox: OutboxRepository,
  registry: JobRegistry,
  queues: Map<string, Queue>,
  connection: RedisClient,
  settings: RelaySettings,
  log: Logger,
) {
  async function deadLetter(row: OutboxRow, err: unknown) {
    log.error({ err, jobId: row.id, type: row.type }, 'outbox row has no queue; giving up');
    await outbox.markFailed(row.id, (err as Error).message);
  }

  async function enqueue(rows: OutboxRow[]): Promise<string[]> {
    const byQueue = new Map<Queue, OutboxRow[]>();
    const sent: string[] = [];
    for (const row of rows) {
      let queue: Queue | undefined;
      try {
        queue = queues.get(registry.definition(row.type).queue);
        if (!queue) throw new Error(`queue ${registry.definition(row.type).queue} is not open`);
      } catch (err) {
        await deadLetter(row, err);
        continue;
      }
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), row]);
      sent.push(row.id);
    }
    const adds = [...byQueue].map(([queue, batch]) =>
      queue.addBulk(
        batch.map((row) => ({
          name: row.type,
          data: {
            payload: row.payload,
            requestId: row.requestId,
            traceparent: row.traceparent,
          } satisfies QueuedJob,
          opts: { jobId: row.id },
        })),
      ),
    );
    await withTimeout(Promise.all(adds), settings.addTimeoutMs);
    const kept = await Promise.all(
      [...byQueue.keys()].map((queue) =>
        replicated(connection, queue.toKey('meta'), settings.waitReplicas, settings.waitTimeoutMs),
      ),
    );
    if (kept.includes(false)) {
      // Added, but only on the master: relayed again later (the job id makes it one job).
      throw new Error(`no ${settings.waitReplicas} replica(s) acknowledged the jobs in time`);
    }
    return sent;
  }

  async function drainOnce(): Promise<boolean> {
    if (connection.status !== 'ready') return false;
    const rows = await outbox.claim(settings.batchSize, settings.leaseMs);
    if (rows.length === 0) return false;
    let sent: string[];
    try {
      sent = await enqueue(rows);
    } catch (err) {
      await outbox.release(
        rows.map((r) => r.id),
        0,
        (err as Error).message,
      );
      throw err;
    }
    await outbox.markSent(sent);
    log.debug({ count: sent.length }, 'outbox rows relayed');
    return rows.length === settings.batchSize;
  }

  return new Poller(drainOnce, settings.pollMs, log);
}
