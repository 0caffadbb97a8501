import compress from '@fastify/compress';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from './config.js';
import { anonymous } from './platform/auth/actor.js';
import type { DatabaseHandle } from './platform/db/database.js';
import { migrate } from './platform/db/migrate.js';
import { createPglite } from './platform/db/pglite.js';
import { createPostgres } from './platform/db/postgres.js';
import { ErrorEnvelopeSchema } from './platform/http/envelope.js';
import { registerErrorHandling } from './platform/http/error-handler.js';
import {
  registerHealthRoutes,
  type Lifecycle,
  type ReadinessCheck,
} from './platform/http/health.js';
import { registerOpenApi } from './platform/http/openapi.js';
import { requestIdFrom } from './platform/http/request-id.js';
import { PostgresUsersRepository } from './modules/users/users.repository.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { UsersService } from './modules/users/users.service.js';

/** The adapters behind the ports, chosen once, here, from the configuration. */
export interface Dependencies {
  database: DatabaseHandle;
  redis?: Redis;
}

export async function createDependencies(config: Config): Promise<Dependencies> {
  const database = config.databaseUrl
    ? createPostgres({
        url: config.databaseUrl,
        poolMax: config.dbPoolMax,
        idleTimeoutMs: config.dbIdleTimeoutMs,
        connectTimeoutMs: config.dbConnectTimeoutMs,
        statementTimeoutMs: config.dbStatementTimeoutMs,
      })
    : await createPglite(`${config.dataDir}/pglite`);
  if (config.migrateOnStart) await migrate(database.db);
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        // Fail fast instead of queueing commands while Redis is away.
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        connectTimeout: config.dbConnectTimeoutMs,
      })
    : undefined;
  // ioredis reconnects by itself; without a listener a lost connection would crash the process.
  redis?.on('error', () => {});
  return { database, redis };
}

export async function closeDependencies(deps: Dependencies) {
  deps.redis?.disconnect();
  await deps.database.close();
}

export function buildServices(deps: Dependencies) {
  const users = new UsersService(new PostgresUsersRepository(deps.database.db));
  return { users };
}

/** Fastify takes a hop count as a function: trust the n nearest proxies. */
function trustProxyOption(value: Config['trustProxy']) {
  return typeof value === 'number' ? (_address: string, hop: number) => hop < value : value;
}

export interface App {
  server: FastifyInstance;
  lifecycle: Lifecycle;
}

export async function buildApp(config: Config, deps: Dependencies): Promise<App> {
  const lifecycle: Lifecycle = { shuttingDown: false };
  const services = buildServices(deps);

  const server = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    genReqId: requestIdFrom,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    // Node's server must get the timeout when it is created: set afterwards (as Fastify does),
    // the 60 s headers timeout stays in charge and a slow body runs far past it. Node also
    // checks for timed-out requests only every 30 s by default.
    http: { requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1_000 },
    trustProxy: trustProxyOption(config.trustProxy),
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  server.decorateRequest('actor', { getter: () => anonymous });
  server.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  // A response sent during shutdown closes its connection: a keep-alive client would otherwise
  // hold server.close() open until the shutdown timeout kills the process.
  server.addHook('onSend', async (_request, reply, payload) => {
    if (lifecycle.shuttingDown) void reply.header('connection', 'close');
    return payload;
  });
  registerErrorHandling(server);
  server.addSchema(ErrorEnvelopeSchema);
  await server.register(compress, {
    global: true,
    encodings: ['br', 'gzip', 'deflate'],
    zlibOptions: { level: 6 },
    brotliOptions: { params: { [(await import('node:zlib')).constants.BROTLI_PARAM_QUALITY]: 6 } },
  });
  await registerOpenApi(server);

  const checks: ReadinessCheck[] = [{ name: 'database', check: () => deps.database.ping() }];
  if (deps.redis) {
    const redis = deps.redis;
    checks.push({ name: 'redis', check: async () => void (await redis.ping()) });
  }
  registerHealthRoutes(server, checks, lifecycle);

  await server.register(usersRoutes, { prefix: '/api/v1', users: services.users });

  return { server, lifecycle };
}
