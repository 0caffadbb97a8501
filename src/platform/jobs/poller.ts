import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Logger } from '../logger.js';

/** Something that empties the outbox: the BullMQ relay or the in-process runner. */
export interface OutboxDrainer {
  start(): void;
  /** Drain now (a transaction just wrote to the outbox) instead of at the next poll. */
  nudge(): void;
  /** Stops polling and waits for the drain in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `drainOnce` every `intervalMs` and on nudges, never twice at a time: a nudge during a
 * drain runs one more drain after it, so no committed row waits for the next tick.
 * `drainOnce` returns true when it may have left work behind (a full batch).
 */
export class Poller implements OutboxDrainer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(
    private readonly drainOnce: () => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly log: Logger,
    /** What the logs call a failed drain. */
    private readonly work = 'outbox drain',
  ) {}

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.nudge(), this.intervalMs);
    this.timer.unref();
    this.nudge();
  }

  nudge() {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    // A nudge comes from the request that just committed; the drain is not part of that
    // request, so it must not run (and trace its queries) in the request's context.
    this.running = context
      .with(ROOT_CONTEXT, () => this.loop())
      .finally(() => (this.running = undefined));
  }

  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async loop() {
    do {
      this.again = false;
      try {
        while (!this.stopped && (await this.drainOnce()));
      } catch (err) {
        // The database or the queue is away: the rows stay pending and the next tick retries.
        this.log.warn({ err }, `${this.work} failed; retrying at the next poll`);
        return;
      }
    } while (this.again && !this.stopped);
  }
}
