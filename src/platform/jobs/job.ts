import type { Logger } from '../logger.js';
import type { Guard, StatementPart } from '../db/single-statement.js';
import type { Tx } from '../db/transaction.js';

/** What a handler knows about the run it is in, whichever runner called it. */
export interface JobContext {
  /** The outbox row's id: stable across retries and duplicates, so it keys idempotency. */
  jobId: string;
  /** 1 for the first run. */
  attempt: number;
  requestId?: string;
  log: Logger;
}

export interface JobDefinition<Type extends string = string, Payload = unknown> {
  type: Type;
  /** The BullMQ queue its jobs go to; ignored by the in-process runner. */
  queue: string;
  handle(payload: Payload, context: JobContext): Promise<void>;
}

/** A definition with its payload type forgotten, as the registry stores it. */
export type AnyJobDefinition = JobDefinition<string, never>;

/** Runs after the transaction that scheduled the job committed. */
export type AfterCommit = () => void;

/**
 * How services ask for background work: inside their transaction, so the job exists exactly
 * when the change committed. Payloads maps each job type the caller may schedule to its data.
 */
export interface JobScheduler<Payloads> {
  schedule<Type extends keyof Payloads & string>(
    tx: Tx,
    type: Type,
    payload: Payloads[Type],
    meta?: { requestId?: string },
  ): Promise<AfterCommit>;
  /**
   * For a change that is a single statement (platform/db/single-statement.ts): the job's outbox
   * insert as a part of it, run when `when` holds; call `afterCommit` once the statement
   * committed with the job.
   */
  schedulePart<Type extends keyof Payloads & string>(
    when: Guard,
    type: Type,
    payload: Payloads[Type],
    meta?: { requestId?: string },
  ): { part: StatementPart; afterCommit: AfterCommit };
}

/** Retry policy shared by BullMQ and the in-process runner. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}

/**
 * How long a dead job (all attempts failed) stays in its queue, retryable from the dashboard;
 * finished ones stay a day. Records that stop a job from acting twice must outlive this.
 */
export const RETRYABLE_JOB_AGE_MS = 7 * 24 * 3_600_000;

/** BullMQ's exponential backoff: backoff × 2^(attempt − 1) after the failed attempt. */
export function backoffDelay(policy: RetryPolicy, failedAttempt: number): number {
  return Math.round(policy.backoffMs * 2 ** (failedAttempt - 1));
}
