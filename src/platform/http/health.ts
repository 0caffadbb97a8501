import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { envelopeSchema, ok } from './envelope.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
  /** Reported in `checks` but not required: a replica the process can do without. */
  advisory?: boolean;
}

export interface Lifecycle {
  shuttingDown: boolean;
}

const CHECK_TIMEOUT_MS = 1_000;

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Each status with the one `status` it carries: 200 is always `ok`, 503 `unavailable`. */
function healthSchema(status: 'ok' | 'unavailable', description: string, example: object) {
  return envelopeSchema(
    Type.Object({
      status: Type.Literal(status),
      checks: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 500 }))),
    }),
    { description, example: { status, ...example } },
  );
}

const UNAVAILABLE = healthSchema('unavailable', 'A dependency failed, or the process is stopping', {
  checks: { database: 'ok', redis: 'no answer within 1000 ms' },
});

/**
 * Liveness says only that the process answers: restarting every process because the database
 * is down would not help. Readiness checks the dependencies and turns 503 during shutdown.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  checks: ReadinessCheck[],
  lifecycle: Lifecycle,
) {
  const schema = (description: string, example: object) => ({
    tags: ['health'],
    response: { 200: healthSchema('ok', description, example), 503: UNAVAILABLE },
  });
  const live = schema('The process answers', {});
  const ready = schema('Every dependency answered', { checks: { database: 'ok', redis: 'ok' } });

  app.get(
    '/health/live',
    { schema: live, logLevel: 'warn', config: { neverShed: true } },
    async (request) => ok(request, { status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    { schema: ready, logLevel: 'warn', config: { neverShed: true } },
    async (request, reply) => {
      const results: Record<string, string> = {};
      let healthy = !lifecycle.shuttingDown;
      if (lifecycle.shuttingDown) results.process = 'shutting down';
      await Promise.all(
        checks.map(async ({ name, check, advisory }) => {
          try {
            await withTimeout(check(), CHECK_TIMEOUT_MS);
            results[name] = 'ok';
          } catch (err) {
            results[name] = (err as Error).message || 'failed';
            if (!advisory) healthy = false;
          }
        }),
      );
      return reply
        .status(healthy ? 200 : 503)
        .send(ok(request, { status: healthy ? 'ok' : 'unavailable', checks: results }));
    },
  );
}
