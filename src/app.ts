import compress from '@fastify/compress';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { constants as zlib } from 'node:zlib';
import { loadConfig, type Config } from './config.js';
import { JOB_TYPES, jobHandlers, type JobPayloads } from './jobs.js';
import { registerGraphql } from './graphql/plugin.js';
import { accountsGraphql } from './modules/accounts/accounts.graphql.js';
import { AccountsRepository } from './modules/accounts/accounts.repository.js';
import { accountsRoutes } from './modules/accounts/accounts.routes.js';
import { AccountsService } from './modules/accounts/accounts.service.js';
import { AuthService } from './modules/auth/auth.service.js';
import { ordersGraphql } from './modules/orders/orders.graphql.js';
import { OrdersRepository } from './modules/orders/orders.repository.js';
import { ordersRoutes } from './modules/orders/orders.routes.js';
import { OrdersService } from './modules/orders/orders.service.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { PostgresSessionsRepository } from './modules/auth/sessions.repository.js';
import { SessionsService } from './modules/auth/sessions.service.js';
import { postsGraphql } from './modules/posts/posts.graphql.js';
import { PostgresPostsRepository } from './modules/posts/posts.repository.js';
import { postsRoutes } from './modules/posts/posts.routes.js';
import { PostSchema } from './modules/posts/posts.schemas.js';
import { PostsService } from './modules/posts/posts.service.js';
import { postsV2Routes } from './modules/posts/posts.v2.routes.js';
import { PostV2Schema } from './modules/posts/posts.v2.schemas.js';
import { productCache } from './modules/products/products.caches.js';
import { PostgresProductsRepository } from './modules/products/products.repository.js';
import { productsRoutes } from './modules/products/products.routes.js';
import { ProductSchema } from './modules/products/products.schemas.js';
import { ProductsService } from './modules/products/products.service.js';
import { PostgresProfilesRepository } from './modules/users/profiles.repository.js';
import { profilesRoutes } from './modules/users/profiles.routes.js';
import { ProfilesService } from './modules/users/profiles.service.js';
import { userByIdCache } from './modules/users/users.caches.js';
import { usersGraphql } from './modules/users/users.graphql.js';
import { PostgresUsersRepository } from './modules/users/users.repository.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { usersV2Routes } from './modules/users/users.v2.routes.js';
import { UsersService, type AdminBootstrap } from './modules/users/users.service.js';
import { PublicProfileSchema, UserSchema } from './modules/users/users.schemas.js';
import { registerAuthentication } from './platform/auth/authenticate.js';
import {
  LoginThrottle,
  MemoryAttemptStore,
  RedisAttemptStore,
  type AttemptStore,
} from './platform/auth/login-throttle.js';
import { Argon2PasswordHasher } from './platform/auth/passwords.js';
import {
  MemoryRevocationList,
  RedisRevocationList,
  type RevocationList,
} from './platform/auth/revocations.js';
import { resolveJwtSecret } from './platform/auth/secret.js';
import { MemoryPendingCounters, type PendingCounters } from './platform/cache/counters.js';
import { GuardedCache } from './platform/cache/guarded-cache.js';
import { MemoryCache } from './platform/cache/memory-cache.js';
import { RedisCache } from './platform/cache/redis-cache.js';
import { RedisPendingCounters } from './platform/cache/redis-counters.js';
import { WriteBehindFlusher } from './platform/cache/write-behind.js';
import { AccessTokens } from './platform/auth/tokens.js';
import type { Database, DatabaseHandle } from './platform/db/database.js';
import { assertMigrated, migrate } from './platform/db/migrate.js';
import { openDatabase } from './platform/db/open.js';
import { IdempotencyKeys } from './platform/idempotency/idempotency.js';
import { IdempotencyKeysRepository } from './platform/idempotency/keys.repository.js';
import { ErrorEnvelopeSchema } from './platform/http/envelope.js';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  registerErrorHandling,
  registerNotFound,
} from './platform/http/error-handler.js';
import {
  registerHealthRoutes,
  type Lifecycle,
  type ReadinessCheck,
} from './platform/http/health.js';
import { registerOpenApi } from './platform/http/openapi.js';
import { registerRateLimit } from './platform/http/rate-limit.js';
import { registerAdminPages } from './platform/http/admin/admin.js';
import { outboxDashboard } from './platform/http/admin/outbox-dashboard.js';
import { requestIdFrom } from './platform/http/request-id.js';
import { loggerOptions } from './platform/logging/logger.js';
import { OneLineRequestLog } from './platform/logging/request-log.js';
import { lazySerializerFactory } from './platform/http/serialization.js';
import { validatorFactory } from './platform/http/validation.js';
import { registerUserRefs } from './platform/http/user-ref.js';
import { registerVersioning, rewriteApiUrl } from './platform/http/versioning.js';
import { tagRequestSpans } from './platform/tracing/request-span.js';
import { reach } from './platform/startup-errors.js';
import { redisReady } from './platform/cache/redis-ready.js';
import { closeQueues, connectQueueRedis, openQueues } from './platform/jobs/bullmq.js';
import { Metrics } from './platform/metrics/metrics.js';
import { registerMetricsRoute } from './platform/metrics/route.js';
import { observeRequests, watchSources } from './platform/metrics/sources.js';
import { registerWorkerHealth } from './platform/http/worker-health.js';
import { startWorkers } from './platform/jobs/workers.js';
import { createInProcessRunner } from './platform/jobs/in-process-runner.js';
import type { RetryPolicy } from './platform/jobs/job.js';
import { OutboxRepository } from './platform/jobs/outbox.repository.js';
import { OutboxScheduler } from './platform/jobs/outbox.js';
import type { OutboxDrainer } from './platform/jobs/poller.js';
import { JobRegistry } from './platform/jobs/registry.js';
import { createOutboxRelay } from './platform/jobs/relay.js';
import { Pruner } from './platform/jobs/pruner.js';
import { OnceMailer, pruneDeliveries } from './platform/mail/deliveries.js';
import type { Mailer } from './platform/mail/mailer.js';
import { fileMailer, smtpMailer } from './platform/mail/nodemailer.js';

/** The adapters behind the ports, chosen once, here, from the configuration. */
export interface Dependencies {
  database: DatabaseHandle;
  redis?: Redis;
  /** BullMQ's connection (QUEUE_REDIS_URL, else REDIS_URL); without it jobs run in process. */
  queueRedis?: Redis;
  revocations: RevocationList;
  loginAttempts: AttemptStore;
  cache: GuardedCache;
  /** Pending post views (write-behind). */
  viewCounters: PendingCounters;
}

export function connectRedis(
  url: string,
  connectTimeoutMs: number,
  commandTimeoutMs?: number,
): Redis {
  const redis = new Redis(url, {
    // Fail fast instead of queueing commands while Redis is away, or waiting on a slow one.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    // Commands issued in one event-loop turn (many requests' cache reads and rate-limit counts)
    // go out in one socket write: each write is a system call, the largest cost per request.
    enableAutoPipelining: true,
  });
  // ioredis reconnects by itself; without a listener a lost connection would crash the process.
  redis.on('error', () => {});
  return redis;
}

/**
 * Opens the database and Redis and checks them before anything is built on them: a server that
 * does not answer, or a schema behind this code, stops start-up with its cause
 * (startup-errors.ts) instead of failing on the first request.
 */
export async function createDependencies(
  config: Config,
  options: {
    /** False for the one command that brings the schema up to date (db:migrate). */
    requireMigrated?: boolean;
    /** A database already being opened (openDatabase), while the caller loaded this module. */
    database?: Promise<DatabaseHandle>;
  } = {},
): Promise<Dependencies> {
  const database = await (options.database ?? openDatabase(config));
  if (config.databaseUrl) await reach('DATABASE_URL', config.databaseUrl, () => database.ping());
  if (config.migrateOnStart) await migrate(database.db);
  else if (options.requireMigrated !== false) await assertMigrated(database.db);
  const redis = config.redisUrl
    ? connectRedis(config.redisUrl, config.dbConnectTimeoutMs, config.redisCommandTimeoutMs)
    : undefined;
  const queueUrl = config.queueRedisUrl ?? config.redisUrl;
  const queueRedis = queueUrl ? connectQueueRedis(queueUrl, config.dbConnectTimeoutMs) : undefined;
  if (redis && config.redisUrl) {
    await reach('REDIS_URL', config.redisUrl, () => redisReady(redis, config.dbConnectTimeoutMs));
  }
  if (queueRedis && config.queueRedisUrl) {
    await reach('QUEUE_REDIS_URL', config.queueRedisUrl, () =>
      redisReady(queueRedis, config.dbConnectTimeoutMs),
    );
  }
  return adapters(database, redis, config, { queueRedis });
}

type CacheSettings = Pick<
  Config,
  'redisCommandTimeoutMs' | 'cacheUserTtlMs' | 'cacheNegativeTtlMs' | 'cacheMaxEntries'
>;

/** The Redis-backed adapters when Redis is configured, the in-memory ones otherwise. */
export function adapters(
  database: DatabaseHandle,
  redis?: Redis,
  settings: CacheSettings = loadConfig({}),
  options: {
    /** BullMQ's connection; without it jobs run in process. */
    queueRedis?: Redis;
    /** Redis name of the pending view counters; tests give each app its own. */
    viewCountersName?: string;
  } = {},
): Dependencies {
  // Not 'views': batches of profile views left there by an older version must not be
  // applied as post views.
  const { queueRedis, viewCountersName = 'post-views' } = options;
  const store = redis ? new RedisCache(redis) : new MemoryCache(settings.cacheMaxEntries);
  return {
    database,
    redis,
    queueRedis,
    revocations: redis ? new RedisRevocationList(redis) : new MemoryRevocationList(),
    loginAttempts: redis ? new RedisAttemptStore(redis) : new MemoryAttemptStore(),
    cache: new GuardedCache(store, {
      timeoutMs: settings.redisCommandTimeoutMs,
      // The longest an entry lives: the user TTL plus its jitter.
      maxEntryLifetimeMs: Math.ceil(settings.cacheUserTtlMs * 1.1),
      maxSuspects: settings.cacheMaxEntries,
    }),
    viewCounters: redis
      ? new RedisPendingCounters(redis, viewCountersName)
      : new MemoryPendingCounters(),
  };
}

export async function closeDependencies(deps: Dependencies) {
  deps.cache.close();
  deps.redis?.disconnect();
  deps.queueRedis?.disconnect();
  await deps.database.close();
}

export function buildServices(config: Config, deps: Dependencies) {
  const { db } = deps.database;
  const tokens = new AccessTokens({
    secret: resolveJwtSecret(config.jwtSecret, config.dataDir),
    algorithm: config.jwtAlgorithm,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTtlMs: config.jwtAccessTtlMs,
    clockSkewMs: config.jwtClockSkewMs,
  });
  const sessions = new SessionsService(
    db,
    new PostgresSessionsRepository(db),
    deps.revocations,
    config.jwtRefreshTtlMs,
    config.jwtAccessTtlMs + config.jwtClockSkewMs,
    config.jwtRefreshReuseGraceMs,
  );
  const cacheSettings = { ttlMs: config.cacheUserTtlMs, negativeTtlMs: config.cacheNegativeTtlMs };
  const profiles = new ProfilesService(new PostgresProfilesRepository(db));
  const posts = new PostsService(
    db,
    new PostgresPostsRepository(db),
    deps.viewCounters,
    (actor, id) => profiles.exists(actor, id),
    config.searchRankLimit,
  );
  const accounts = new AccountsService(db, new AccountsRepository(db), config.defaultCurrency);
  const attempts = new LoginThrottle(deps.loginAttempts, {
    maxPerAddress: config.loginMaxFailures,
    maxPerAccount: config.loginAccountMaxFailures,
    windowMs: config.loginWindowMs,
    familiarMs: config.loginFamiliarTtlMs,
  });
  const users = new UsersService(
    db,
    new PostgresUsersRepository(db),
    new Argon2PasswordHasher(),
    sessions,
    attempts,
    userByIdCache(deps.cache, cacheSettings),
    (tx, user) => accounts.openWallet(tx, user.id),
  );
  const idempotency = new IdempotencyKeys(
    new IdempotencyKeysRepository(db),
    config.idempotencyKeyTtlMs,
  );
  const jobs = new OutboxScheduler<JobPayloads>(new OutboxRepository(db));
  const auth = new AuthService(jobs, users, sessions, tokens, config.jwtAccessTtlMs);
  const products = new ProductsService(
    new PostgresProductsRepository(db),
    productCache(deps.cache, cacheSettings),
  );
  const orders = new OrdersService(db, new OrdersRepository(db), accounts, products, users, jobs);
  return {
    tokens,
    sessions,
    users,
    profiles,
    posts,
    auth,
    jobs,
    accounts,
    idempotency,
    products,
    orders,
  };
}

export type Services = ReturnType<typeof buildServices>;

/** SMTP when SMTP_URL is set, else .eml files under DATA_DIR/mail. */
export function buildMailer(config: Config): Mailer {
  return config.smtpUrl
    ? smtpMailer(config.smtpUrl, config.mailFrom)
    : fileMailer(`${config.dataDir}/mail`, config.mailFrom);
}

export function retryPolicy(config: Config): RetryPolicy {
  return { attempts: config.jobAttempts, backoffMs: config.jobBackoffMs };
}

/**
 * The job registry (checked here: a missing or duplicate handler stops start-up) and what
 * drains the outbox: a relay to BullMQ when a queue Redis is configured, else the in-process
 * runner with the same handlers and retry policy.
 */
export function buildJobs(
  config: Config,
  deps: Dependencies,
  services: Services,
  log: FastifyBaseLogger,
  mailer: Mailer = buildMailer(config),
) {
  const { db } = deps.database;
  const domain = /@([^>\s]+)/.exec(config.mailFrom)?.[1] ?? 'stratum.local';
  const mail = new OnceMailer(db, mailer, domain);
  const registry = new JobRegistry(JOB_TYPES, jobHandlers(mail));
  const outbox = new OutboxRepository(db);
  const queues = deps.queueRedis
    ? openQueues(
        registry.queueNames(),
        {
          connection: deps.queueRedis,
          prefix: config.queuePrefix,
          retry: retryPolicy(config),
        },
        log,
      )
    : undefined;
  const drainer: OutboxDrainer =
    queues && deps.queueRedis
      ? createOutboxRelay(
          outbox,
          registry,
          queues,
          deps.queueRedis,
          // A queue that doesn't answer within 5 s is treated as down; rows wait 30 s per claim.
          { pollMs: config.outboxPollMs, batchSize: 100, leaseMs: 30_000, addTimeoutMs: 5_000 },
          log,
        )
      : createInProcessRunner(
          outbox,
          registry,
          {
            pollMs: config.outboxPollMs,
            concurrency: config.workerConcurrency,
            leaseMs: config.workerLockDurationMs,
            retry: retryPolicy(config),
          },
          log,
        );
  services.jobs.onCommitted(() => drainer.nudge());
  const pruner = buildPruner(config, db, log);
  return {
    registry,
    queues,
    drainer,
    pruner,
    start() {
      drainer.start();
      pruner.start();
    },
    async close() {
      await Promise.all([drainer.stop(), pruner.stop()]);
      if (queues) await closeQueues(queues);
    },
  };
}

/** Deletes finished bookkeeping rows past their retention; each rule says which rows. */
export function buildPruner(config: Config, db: Database, log: FastifyBaseLogger): Pruner {
  const outbox = new OutboxRepository(db);
  const posts = new PostgresPostsRepository(db);
  const idempotencyKeys = new IdempotencyKeysRepository(db);
  const { outboxRetentionMs, deliveryRetentionMs, viewFlushRetentionMs } = config;
  return new Pruner(
    [
      { table: 'outbox', pruneBatch: (n) => outbox.pruneFinished(outboxRetentionMs, n) },
      { table: 'deliveries', pruneBatch: (n) => pruneDeliveries(db, deliveryRetentionMs, n) },
      {
        table: 'view_flushes',
        pruneBatch: (n) => posts.pruneAppliedBatches(viewFlushRetentionMs, n),
      },
      // Expired keys (IDEMPOTENCY_KEY_TTL) can't replay any more: a new use takes them over.
      { table: 'idempotency_keys', pruneBatch: (n) => idempotencyKeys.deleteExpired(n) },
      // A spent refresh token's sealed successor is of use only within the reuse grace.
      {
        table: 'refresh_tokens',
        pruneBatch: (n) => new PostgresSessionsRepository(db).clearStaleSuccessors(n),
      },
    ],
    { intervalMs: config.pruneIntervalMs, batchSize: config.pruneBatchSize },
    log,
  );
}

export type Jobs = ReturnType<typeof buildJobs>;

/** What the ADMIN_EMAIL bootstrap did, or why it did nothing: an operator must be able to tell. */
function logAdminBootstrap(log: FastifyBaseLogger, email: string, result: AdminBootstrap) {
  switch (result.outcome) {
    case 'created':
      log.info({ userId: result.user.id }, `admin bootstrap: created the admin ${email}`);
      break;
    case 'admin-exists':
      log.info('admin bootstrap: an active admin exists; ADMIN_EMAIL was not used');
      break;
    case 'address-taken':
      log.warn(
        { userId: result.user.id },
        `admin bootstrap: ${email} belongs to an existing ${result.user.role} account, which ` +
          'was not promoted; promote it with `npm run user:create -- --email <it> --role admin`',
      );
      break;
  }
}

/** Fastify takes a hop count as a function: trust the n nearest proxies. */
function trustProxyOption(value: Config['trustProxy']) {
  return typeof value === 'number' ? (_address: string, hop: number) => hop < value : value;
}

export interface App {
  server: FastifyInstance;
  services: Services;
  jobs: Jobs;
  lifecycle: Lifecycle;
  /** Post views into the database; flushes on its own and once more on server close. */
  viewFlusher: WriteBehindFlusher;
  metrics: Metrics;
}

export interface BuildAppOptions {
  /** Replaces the configured mailer (tests count what would have been sent). */
  mailer?: Mailer;
}

export async function buildApp(
  config: Config,
  deps: Dependencies,
  options: BuildAppOptions = {},
): Promise<App> {
  const lifecycle: Lifecycle = { shuttingDown: false };
  const services = buildServices(config, deps);
  await services.accounts.ensureLedger();

  const server = Fastify({
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

  if (config.adminEmail && config.adminPassword) {
    const bootstrap = await services.users.ensureAdmin(config.adminEmail, config.adminPassword);
    logAdminBootstrap(server.log, config.adminEmail, bootstrap);
  }

  // Bodies are JSON; anything else is refused rather than parsed as text.
  server.removeContentTypeParser('text/plain');
  server.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  registerVersioning(server, {
    deprecation: config.apiV1Deprecation,
    sunset: config.apiV1Sunset,
    link: config.apiV1DeprecationLink,
  });
  if (config.otelEndpoint) tagRequestSpans(server);
  // A response sent during shutdown closes its connection: a keep-alive client would otherwise
  // hold server.close() open until the shutdown timeout kills the process.
  server.addHook('onSend', async (_request, reply, payload) => {
    if (lifecycle.shuttingDown) void reply.header('connection', 'close');
    return payload;
  });
  // The API drains the outbox too: its own commits leave at once, not at the next poll.
  const jobs = buildJobs(config, deps, services, server.log, options.mailer);
  server.addHook('onReady', async () => jobs.start());
  server.addHook('onClose', async () => jobs.close());
  registerErrorHandling(server);
  // Shared schemas, referenced by $id from every module's routes.
  server.addSchema(ErrorEnvelopeSchema);
  server.addSchema(UserSchema);
  server.addSchema(PublicProfileSchema);
  server.addSchema(ProductSchema);
  server.addSchema(PostSchema);
  server.addSchema(PostV2Schema);
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
  // Order matters: the actor is known before the limiter keys on it; a bad token is refused after.
  registerAuthentication(server, services.tokens, deps.revocations);
  // Before any route: the routes whose path names a user learn `me` from their schema.
  registerUserRefs(server);
  await registerRateLimit(server, config, deps.redis, () => metrics.rateLimited.inc());
  // After the limiter: the documents, the docs UI and unknown paths count like any request.
  registerNotFound(server, server.rateLimit());
  await registerOpenApi(server, config.apiV1Deprecation !== undefined);

  const checks: ReadinessCheck[] = [{ name: 'database', check: () => deps.database.ping() }];
  if (deps.redis) {
    const redis = deps.redis;
    checks.push({ name: 'redis', check: async () => void (await redis.ping()) });
  }
  registerHealthRoutes(server, checks, lifecycle);

  await server.register(usersRoutes, { prefix: '/api/v1', users: services.users });
  await server.register(authRoutes, { prefix: '/api/v1', auth: services.auth });
  await server.register(profilesRoutes, { prefix: '/api/v1', profiles: services.profiles });
  await server.register(postsRoutes, { prefix: '/api/v1', posts: services.posts });
  await server.register(productsRoutes, { prefix: '/api/v1', products: services.products });
  const { accounts, orders, idempotency } = services;
  await server.register(accountsRoutes, { prefix: '/api/v1', accounts, idempotency });
  await server.register(ordersRoutes, { prefix: '/api/v1', orders, idempotency });
  // The other door into the same services.
  await registerGraphql(server, config, [
    usersGraphql(services.users),
    postsGraphql(services.posts, services.profiles),
    ordersGraphql(orders),
    accountsGraphql(accounts),
  ]);

  // API v2: the resources whose representation changed; the same services behind them.
  const exactCountLimit = config.apiExactCountLimit;
  await server.register(usersV2Routes, {
    prefix: '/api/v2',
    users: services.users,
    exactCountLimit,
  });
  await server.register(postsV2Routes, {
    prefix: '/api/v2',
    posts: services.posts,
    users: services.users,
    exactCountLimit,
  });

  deps.cache.logTo(server.log);
  const viewFlusher = new WriteBehindFlusher(
    deps.viewCounters,
    (batch) => services.posts.applyViews(batch),
    // A batch's transaction takes milliseconds; a flusher silent this long has died.
    { intervalMs: config.flushIntervalMs, leaseMs: 30_000, logger: server.log },
  );
  viewFlusher.start();
  // The last views go in on close, while the database is still open (main closes it after).
  server.addHook('onClose', async () => viewFlusher.stop());

  // The job dashboard shows what runs the jobs: BullMQ's queues, or the outbox when jobs run
  // in process. bull-board loads only with queues: it is a large part of a process's modules.
  const dashboard = jobs.queues
    ? (await import('./platform/http/admin/queues-dashboard.js')).bullBoardDashboard([
        ...jobs.queues.values(),
      ])
    : outboxDashboard(new OutboxRepository(deps.database.db));
  await registerAdminPages(server, {
    signIn: services.auth,
    tokens: services.tokens,
    revocations: deps.revocations,
    dashboard,
  });

  return { server, services, jobs, lifecycle, viewFlusher, metrics };
}

/**
 * The process's metrics (API and worker alike): request durations, cache lookups, job
 * outcomes, and the pool, outbox and queue gauges read at scrape time; `/metrics` when enabled.
 */
function instrument(server: FastifyInstance, config: Config, deps: Dependencies, jobs: Jobs) {
  const metrics = new Metrics();
  observeRequests(server, metrics);
  deps.cache.observeLookups((key, hit) => metrics.recordCacheLookup(key, hit));
  jobs.registry.observeOutcomes((type, outcome, ms) => metrics.recordJob(type, outcome, ms / 1000));
  watchSources(metrics, {
    database: deps.database,
    outbox: new OutboxRepository(deps.database.db),
    queues: [...(jobs.queues?.values() ?? [])],
  });
  if (config.metricsEnabled) {
    registerMetricsRoute(server, metrics, {
      token: config.metricsToken,
      allow: config.metricsAllow,
    });
  }
  return metrics;
}

/**
 * The worker process: BullMQ workers for every queue in the registry, the outbox relay, and a
 * small health server (WORKER_PORT). close() stops taking jobs, lets active ones finish, and
 * releases everything.
 */
export function buildWorker(config: Config, deps: Dependencies, options: BuildAppOptions = {}) {
  const connection = deps.queueRedis;
  if (!connection) throw new Error('the worker needs QUEUE_REDIS_URL or REDIS_URL');
  const lifecycle: Lifecycle = { shuttingDown: false };
  const server = Fastify({
    logger: loggerOptions(config, { base: { role: 'worker' } }),
    logController: new OneLineRequestLog({ requestIdLogLabel: 'requestId' }),
  });
  const services = buildServices(config, deps);
  const jobs = buildJobs(config, deps, services, server.log, options.mailer);
  registerErrorHandling(server);
  registerNotFound(server);
  const metrics = instrument(server, config, deps, jobs);
  const { workers, progress } = startWorkers(
    jobs.registry,
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      lockDurationMs: config.workerLockDurationMs,
      stalledIntervalMs: config.workerStalledIntervalMs,
    },
    server.log,
  );
  jobs.start();
  registerWorkerHealth(
    server,
    [...(jobs.queues?.values() ?? [])],
    progress,
    config.workerStuckAfterMs,
    lifecycle,
  );
  return {
    server,
    jobs,
    workers,
    metrics,
    async close() {
      lifecycle.shuttingDown = true;
      // Waits for the active jobs; takes no new ones meanwhile.
      await Promise.all(workers.map((w) => w.close()));
      await jobs.close();
      await server.close();
    },
  };
}
