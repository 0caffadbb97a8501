import type { Logger } from '../logger.js';
import { Poller } from './poller.js';

/** One table's finished rows: how to delete a bounded batch of those past their retention. */
export interface RetentionRule {
  table: string;
  /** Deletes at most `limit` expired rows; returns how many it deleted. */
  pruneBatch(limit: number): Promise<number>;
}

export interface PrunerSettings {
  intervalMs: number;
  batchSize: number;
}

/**
 * Deletes bookkeeping rows past their retention (sent outbox rows, deliveries, applied view
 * batches), so those tables hold a bounded window instead of growing forever. Every API and
 * worker process runs one; the batches lock with SKIP LOCKED, so running several is harmless.
 */
export class Pruner {
  private readonly poller: Poller;

  constructor(
    private readonly rules: RetentionRule[],
    private readonly settings: PrunerSettings,
    private readonly log: Logger,
  ) {
    this.poller = new Poller(() => this.pruneOnce(), settings.intervalMs, log, 'pruning');
  }

  start() {
    this.poller.start();
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }

  /** One batch per table; true while a table may hold more expired rows. */
  async pruneOnce(): Promise<boolean> {
    let more = false;
    for (const rule of this.rules) {
      const deleted = await rule.pruneBatch(this.settings.batchSize);
      if (deleted > 0) this.log.debug({ table: rule.table, deleted }, 'pruned expired rows');
      if (deleted >= this.settings.batchSize) more = true;
    }
    return more;
  }
}
