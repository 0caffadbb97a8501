import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from '../logger.js';
import { ATTR_REQUEST_ID } from '../tracing/request-span.js';
import { linksTo } from '../tracing/trace-context.js';
import type { JobRegistry } from './registry.js';

export interface JobRun {
  jobId: string;
  type: string;
  payload: unknown;
  requestId?: string | null;
  /** The span that scheduled the job (W3C traceparent), when tracing was on. */
  traceparent?: string | null;
  attempt: number;
}

const tracer = trace.getTracer('stratum-jobs');

/**
 * The one path from a job to its handler, for BullMQ's worker and the in-process runner alike.
 * A failure is logged with the job id, attempt and reason, then rethrown for the runner's retry.
 */
export async function runJob(registry: JobRegistry, run: JobRun, baseLog: Logger): Promise<void> {
  // A trace of its own, linked to the request's: a job runs after the request ended, maybe
  // several times, and a parent/child link would stretch the request's trace over its retries.
  return tracer.startActiveSpan(
    `job ${run.type}`,
    {
      root: true,
      kind: SpanKind.CONSUMER,
      links: linksTo(run.traceparent),
      attributes: {
        'job.id': run.jobId,
        'job.type': run.type,
        'job.attempt': run.attempt,
        ...(run.requestId ? { [ATTR_REQUEST_ID]: run.requestId } : {}),
      },
    },
    async (span) => {
      try {
        await handleJob(registry, run, baseLog);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

async function handleJob(registry: JobRegistry, run: JobRun, baseLog: Logger) {
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
