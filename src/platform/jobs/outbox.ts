import { v7 as uuidv7 } from 'uuid';
import type { Guard } from '../db/single-statement.js';
import type { Tx } from '../db/transaction.js';
import { activeTraceparent } from '../tracing/trace-context.js';
import type { AfterCommit, JobScheduler } from './job.js';
import type { OutboxRepository } from './outbox.repository.js';

/**
 * Schedules jobs by writing outbox rows in the caller's transaction. After the commit, the
 * returned callback wakes the local relay so the job leaves at once instead of at the next poll.
 */
export class OutboxScheduler<Payloads> implements JobScheduler<Payloads> {
  private wake: () => void = () => {};

  constructor(private readonly outbox: OutboxRepository) {}

  /** Set by the composition root once the drainer (relay or in-process runner) exists. */
  onCommitted(wake: () => void) {
    this.wake = wake;
  }

  async schedule<Type extends keyof Payloads & string>(
    tx: Tx,
    type: Type,
    payload: Payloads[Type],
    meta: { requestId?: string } = {},
  ): Promise<AfterCommit> {
    await this.outbox.add(tx, this.row(type, payload, meta));
    return () => this.wake();
  }

  schedulePart<Type extends keyof Payloads & string>(
    when: Guard,
    type: Type,
    payload: Payloads[Type],
    meta: { requestId?: string } = {},
  ) {
    return {
      part: this.outbox.insertPart(this.row(type, payload, meta), when),
      afterCommit: () => this.wake(),
    };
  }

  private row(type: string, payload: unknown, meta: { requestId?: string }) {
    return {
      id: uuidv7(),
      type,
      payload,
      requestId: meta.requestId,
      traceparent: activeTraceparent(),
    };
  }
}
