import compress from '@fastify/compress';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { constants as zlib } from 'node:zlib';
import type { TSchema } from 'typebox';
import type { Config } from '../config.js';
import { authenticationPlugin } from '../platform/auth/authenticate.js';
import { registerAdminPages } from '../platform/http/admin/admin.js';
import { outboxDashboard } from '../platform/http/admin/outbox-dashboard.js';
import { ErrorEnvelopeSchema } from '../platform/http/envelope.js';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  registerErrorHandling,
  registerNotFound,
} from '../platform/http/error-handler.js';
import {
  registerHealthRoutes,
  type Lifecycle,
  type ReadinessCheck,
} from '../platform/http/health.js';
import { collectWhenIdle } from '../platform/http/idle-memory.js';
import { registerLoadShedding, watchPressure } from '../platform/http/load-shedding.js';
import { registerOpenApi } from '../platform/http/openapi.js';
import { rateLimitPlugin } from '../platform/http/rate-limit.js';
import { requestIdFrom, requestIdPlugin } from '../platform/http/request-id.js';
import { lazySerializerFactory } from '../platform/http/serialization.js';
import { registerUserRefs } from '../platform/http/user-ref.js';
import { validatorFactory } from '../platform/http/validation.js';
import { rewriteApiUrl, versioningPlugin } from '../platform/http/versioning.js';
import { loggerOptions } from '../platform/logging/logger.js';
import { OneLineRequestLog } from '../platform/logging/request-log.js';
import { tagRequestSpans } from '../platform/tracing/request-span.js';
import type { Dependencies } from './dependencies.js';
import type { Jobs } from './jobs.js';
import { instrument } from './metrics.js';
import type { Services } from './services.js';

/** Fastify takes a hop count as a function: trust the n nearest proxies. */
function trustProxyOption(value: Config['trustProxy']) {
  return typeof value === 'number' ? (_address: string, hop: number) => hop < value : value;
}

/** The API's HTTP server: logging, request ids, limits, URL rewrite, validators, framework errors. */
export function createServer(config: Config) {
  return Fastify({
    logger: loggerOptions(config),
    genReqId: requestIdFrom,
    logController: new OneLineRequestLog({ requestIdLogLabel: 'requestId' }),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    // Node's server must get the timeout when it is created: set afterwards (as Fastify does),
    // the 60 s headers timeout stays in charge and a slow body runs far past it. Node also
    // checks for timed-out requests only every 30 s by default.
    http: { requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1_000 },
    trustProxy: trustProxyOption(config.trustProxy),
    // An unversioned /api request is routed by its api-version header (versioning.ts).
    rewriteUrl: rewriteApiUrl,
    // Every request schema, in every plugin (those that add schemas of their own too), is
    // compiled by the project's validator. Request schemas reference no shared schema. Both
    // validators and serializers compile on a route's first use, not at start-up.
    schemaController: {
      compilersFactory: {
        buildValidator: validatorFactory,
        buildSerializer: lazySerializerFactory,
      },
    },
    // What fails before routing (a bad URL, a request Node can't parse) answers in the envelope.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
}

export interface HttpParts {
  config: Config;
  deps: Dependencies;
  services: Services;
  jobs: Jobs;
  lifecycle: Lifecycle;
  /** Shared schemas, referenced by $id from the modules' routes. */
  schemas: readonly TSchema[];
}

/**
 * What every request passes through before a module's route: request id, versioning, error
 * handling, helmet, CORS, compression, metrics, load shedding, the idle collection,
 * authentication, rate limit, the documents, health. Returns the process's metrics.
 */
export async function registerCrossCutting(
  server: FastifyInstance,
  { config, deps, services, jobs, lifecycle, schemas }: HttpParts,
) {
  // Bodies are JSON; anything else is refused rather than parsed as text.
  server.removeContentTypeParser('text/plain');
  // The cross-cutting hooks are named plugins; each declares what must run before it, and
  // Fastify refuses to start when that is not registered first.
  await server.register(requestIdPlugin);
  await server.register(versioningPlugin, {
    deprecation: config.apiV1Deprecation,
    sunset: config.apiV1Sunset,
    link: config.apiV1DeprecationLink,
  });
  if (config.otelEndpoint) tagRequestSpans(server);
  // A response sent during shutdown closes its connection: a keep-alive client would otherwise
  // hold server.close() open until the shutdown timeout kills the process.
  // A callback hook: an async one costs a promise on every response.
  server.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.shuttingDown) void reply.header('connection', 'close');
    done(null, payload);
  });
  if (deps.replicaReads.configured) recordWrites(server, deps.replicaReads);
  registerErrorHandling(server);
  // Shared schemas, referenced by $id from every module's routes.
  server.addSchema(ErrorEnvelopeSchema);
  for (const schema of schemas) server.addSchema(schema);
  await server.register(helmet, {
    // The docs UI sets its own policy; JSON responses need none beyond helmet's defaults.
    contentSecurityPolicy: false,
  });
  // Without origins the plugin would only add a hook that does nothing on every request.
  if (config.corsOrigins.length) {
    await server.register(cors, {
      origin: config.corsOrigins,
      // Browsers hide response headers from scripts unless listed: these tell a client which
      // version answered and when v1 goes away.
      exposedHeaders: ['api-version', 'deprecation', 'sunset', 'link', 'x-request-id'],
    });
  }
  await server.register(compress, {
    global: true,
    encodings: ['br', 'gzip', 'deflate'],
    zlibOptions: { level: 6 },
    brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 6 } },
  });
  const metrics = instrument(server, config, deps, jobs);
  // Before authentication and body parsing: a refusal must cost next to nothing.
  const pressure = watchPressure(config.loadShedding, () => deps.database.poolStats().waiting);
  registerLoadShedding(server, config.loadShedding, pressure, (loadClass) =>
    metrics.shed.inc({ class: loadClass }),
  );
  if (config.memoryIdleGcMs > 0) collectWhenIdle(server, config.memoryIdleGcMs);
  await server.register(authenticationPlugin, {
    tokens: services.tokens,
    revocations: deps.revocations,
    enrolmentTokens: services.enrolmentTokens,
  });
  // Before any route: the routes whose path names a user learn `me` from their schema.
  registerUserRefs(server);
  await server.register(rateLimitPlugin, {
    config,
    redis: deps.redis,
    onRejected: () => metrics.rateLimited.inc(),
  });
  // After the limiter: the documents, the docs UI and unknown paths count like any request.
  registerNotFound(server, server.rateLimit());
  await registerOpenApi(server, config.apiV1Deprecation !== undefined);

  const checks: ReadinessCheck[] = [{ name: 'database', check: () => deps.database.ping() }];
  // Reported, never failing readiness: reads go to the primary while no replica is fit.
  deps.replicaReads.states().forEach(({ name }, index) => {
    const check = async () => {
      const { state } = deps.replicaReads.states()[index]!;
      if (state !== 'ok') throw new Error(state);
    };
    checks.push({ name: `replica ${name}`, advisory: true, check });
  });
  if (deps.redis) {
    const redis = deps.redis;
    checks.push({ name: 'redis', check: async () => void (await redis.ping()) });
  }
  registerHealthRoutes(server, checks, lifecycle);
  return metrics;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * After a user's request that may have written (any method but a read, answered below 400), the
 * primary's position becomes the user's mark, before the answer leaves: a read that follows on
 * any process waits for a replica that has it (platform/db/replicas.ts). GraphQL's queries come
 * as POST too and count, which keeps their author on the primary a moment longer.
 */
function recordWrites(server: FastifyInstance, replicaReads: Dependencies['replicaReads']) {
  server.addHook('onSend', async (request, reply, payload) => {
    const userId = request.actor?.userId;
    if (userId && WRITES.has(request.method) && reply.statusCode < 400) {
      // The write committed; without its mark (Redis away) the answer still goes out, and the
      // user's next reads may meet a replica up to DB_REPLICA_MAX_LAG_MS behind.
      await replicaReads.wrote(userId).catch(() => {});
    }
    return payload;
  });
}

/** The admin pages, with the job dashboard for what runs the jobs. */
export async function registerAdmin(
  server: FastifyInstance,
  { deps, services, jobs }: Pick<HttpParts, 'deps' | 'services' | 'jobs'>,
) {
  // The job dashboard shows what runs the jobs: BullMQ's queues, or the outbox when jobs run
  // in process. bull-board loads only with queues: it is a large part of a process's modules.
  const dashboard = jobs.queues
    ? (await import('../platform/http/admin/queues-dashboard.js')).bullBoardDashboard([
        ...jobs.queues.values(),
      ])
    : outboxDashboard(jobs.outbox);
  await registerAdminPages(server, {
    signIn: services.auth,
    tokens: services.tokens,
    revocations: deps.revocations,
    dashboard,
  });
}
