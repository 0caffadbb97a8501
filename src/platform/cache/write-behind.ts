import type { CounterBatch, PendingCounters } from './counters.js';
import type { CacheLogger } from './guarded-cache.js';

export interface WriteBehindOptions {
  intervalMs: number;
  /** How long a claimed batch is its flusher's before another process may take it over. */
  leaseMs: number;
  logger?: CacheLogger;
}

/**
 * Drains pending counters into the database: on a timer, and once more on shutdown. Each tick
 * first takes over batches abandoned by a flusher that died, then claims the new counts.
 * `apply` must be idempotent per batch id (the database records applied ids in the same
 * transaction), because a batch is acked only after its transaction committed: a crash
 * between the two makes the batch an orphan that is applied again, and skipped.
 */
export class WriteBehindFlusher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly counters: PendingCounters,
    private readonly apply: (batch: CounterBatch) => Promise<void>,
    private readonly options: WriteBehindOptions,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and flushes what is pending. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** One flush at a time per process; a call while one runs waits for it, then runs its own. */
  flush(): Promise<void> {
    this.running = this.running.then(() => this.drain());
    return this.running;
  }

  private async drain(): Promise<void> {
    try {
      const { leaseMs } = this.options;
      for (let orphan; (orphan = await this.counters.claimOrphan(leaseMs));) {
        await this.applyAndAck(orphan);
      }
      const batch = await this.counters.claim(leaseMs);
      if (batch) await this.applyAndAck(batch);
    } catch (err) {
      // The batch stays stored under its lease; a later tick takes it over as an orphan.
      this.options.logger?.warn({ err }, 'write-behind flush failed; will retry');
    }
  }

  private async applyAndAck(batch: CounterBatch) {
    await this.apply(batch);
    await this.counters.ack(batch.id);
  }
}
