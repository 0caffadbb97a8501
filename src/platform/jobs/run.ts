import type { FastifyBaseLogger } from 'fastify';
import type { JobRegistry } from './registry.js';

export interface JobRun {
  jobId: string;
  type: string;
  payload: unknown;
  requestId?: string | null;
  attempt: number;
}

/**
 * The one path from a job to its handler, for BullMQ's worker and the in-process runner alike.
 * A failure is logged with the job id, attempt and reason, then rethrown for the runner's retry.
 */
export async function runJob(
  registry: JobRegistry,
  run: JobRun,
  baseLog: FastifyBaseLogger,
): Promise<void> {
  const log = baseLog.child({
    jobId: run.jobId,
    jobType: run.type,
    attempt: run.attempt,
    ...(run.requestId ? { requestId: run.requestId } : {}),
  });
  const started = performance.now();
  try {
    const definition = registry.definition(run.type);
    // The registry forgot the payload's type; the row was written for this very type.
    await definition.handle(run.payload as never, {
      jobId: run.jobId,
      attempt: run.attempt,
      requestId: run.requestId ?? undefined,
      log,
    });
    log.info('job completed');
    registry.recordOutcome(run.type, 'completed', performance.now() - started);
  } catch (err) {
    log.warn({ reason: (err as Error).message }, 'job failed');
    registry.recordOutcome(run.type, 'failed', performance.now() - started);
    throw err;
  }
}
