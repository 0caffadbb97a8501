import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../src/platform/db/database.js';
import { OutboxRepository } from '../../src/platform/jobs/outbox.repository.js';

/** The outbox rows a drainer has yet to deliver: emails the load caused and nobody sent yet. */

const DRAIN_TIMEOUT_MS = 120_000;
const POLL_MS = 100;

const pendingRows = (db: Database) => new OutboxRepository(db).countPending();

export interface OutboxDrain {
  /** Rows pending when the wait began (when the load stopped). */
  backlog: number;
  seconds: number;
}

/**
 * Waits until the outbox is empty, so the next timed run (pgbench's, say) doesn't share the
 * machine with emails the previous one caused. Fails the bench when it does not drain.
 */
export async function waitForOutbox(db: Database): Promise<OutboxDrain> {
  const started = performance.now();
  const backlog = await pendingRows(db);
  let pending = backlog;
  while (pending > 0) {
    if (performance.now() - started > DRAIN_TIMEOUT_MS) {
      throw new Error(`the outbox still holds ${pending} rows after ${DRAIN_TIMEOUT_MS} ms`);
    }
    await sleep(POLL_MS);
    pending = await pendingRows(db);
  }
  return { backlog, seconds: (performance.now() - started) / 1000 };
}
