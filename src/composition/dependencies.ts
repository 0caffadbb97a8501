import { loadConfig, type Config } from '../config.js';
import {
  MemoryAttemptStore,
  RedisAttemptStore,
  type AttemptStore,
} from '../platform/auth/login-throttle.js';
import {
  MemoryRevocationList,
  REVOCATION_MIRROR,
  RedisRevocationList,
  type RevocationList,
} from '../platform/auth/revocations.js';
import { PostgresSessionsRepository } from '../modules/auth/sessions.repository.js';
import { resolveJwtSecret } from '../platform/auth/secret.js';
import { MemoryPendingCounters, type PendingCounters } from '../platform/cache/counters.js';
import type { CacheHandle } from '../platform/cache/cache.js';
import { DisabledCache } from '../platform/cache/disabled-cache.js';
import { GuardedCache } from '../platform/cache/guarded-cache.js';
import { InvalidationBus } from '../platform/cache/invalidation-bus.js';
import { MemoryCache } from '../platform/cache/memory-cache.js';
import { RedisCache } from '../platform/cache/redis-cache.js';
import { RedisPendingCounters } from '../platform/cache/redis-counters.js';
import { redisReady } from '../platform/cache/redis-ready.js';
import { TwoLevelCache } from '../platform/cache/two-level-cache.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { RedisWriteMarks } from '../platform/db/redis-write-marks.js';
import { MemoryWriteMarks, ReplicaReads, type Replica } from '../platform/db/replicas.js';
import { assertMigrated, migrate } from '../platform/db/migrate.js';
import { onMigrationDatabase, openDatabase, openReplicas } from '../platform/db/open.js';
import {
  connectRedis,
  REDIS_RECONNECT_MAX_MS,
  isCluster,
  redisTopology,
  topologySource,
  type RedisClient,
} from '../platform/redis/connect.js';
import { reach } from '../platform/startup-errors.js';

export { connectRedis };

/** The adapters behind the ports, chosen once, here, from the configuration. */
export interface Dependencies {
  database: DatabaseHandle;
  redis?: RedisClient;
  /** BullMQ's connection (QUEUE_REDIS_URL, else the main Redis); without it jobs run in process. */
  queueRedis?: RedisClient;
  revocations: RevocationList;
  loginAttempts: AttemptStore;
  /** Users and products by id: disabled, in memory, Redis, or in process in front of Redis. */
  cache: CacheHandle;
  /** Pending post views (write-behind). */
  viewCounters: PendingCounters;
  /** The key access tokens are signed with (signingKey below). */
  signingKey: Uint8Array;
  /** Where reads marked replica-safe go (the primary when there are no replicas). */
  replicaReads: ReplicaReads;
}

/**
 * JWT_SECRET when set; otherwise the development key kept in DATA_DIR/jwt-secret, created on
 * first use. The one file that building the dependencies may write.
 */
export function signingKey(config: Pick<Config, 'jwtSecret' | 'dataDir'>): Uint8Array {
  return resolveJwtSecret(config.jwtSecret, config.dataDir);
}

/** How often a failed cache invalidation is retried (GuardedCache). */
const CACHE_RETRY_INTERVAL_MS = 1_000;

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
  if (config.migrateOnStart) await onMigrationDatabase(config, database, (db) => migrate(db));
  else if (options.requireMigrated !== false) await assertMigrated(database.db);
  const topology = redisTopology(config);
  const queueTopology = config.queueRedisUrl
    ? ({ kind: 'single', url: config.queueRedisUrl } as const)
    : topology;
  const timeouts = {
    connectTimeoutMs: config.dbConnectTimeoutMs,
    commandTimeoutMs: config.redisCommandTimeoutMs,
  };
  const redis = topology && connectRedis(topology, 'fail-fast', timeouts);
  const queueRedis = queueTopology && connectRedis(queueTopology, 'queue', timeouts);
  if (redis && topology) {
    const { variable, url } = topologySource(topology);
    await reach(variable, url, () => redisReady(redis, config.dbConnectTimeoutMs));
  }
  if (queueRedis && config.queueRedisUrl) {
    await reach('QUEUE_REDIS_URL', config.queueRedisUrl, () =>
      redisReady(queueRedis, config.dbConnectTimeoutMs),
    );
  }
  // A replica down at start-up is skipped until it answers: the primary serves meanwhile.
  const replicas = openReplicas(config);
  return adapters(database, redis, config, { queueRedis, replicas });
}

type AdapterSettings = Pick<
  Config,
  | 'redisCommandTimeoutMs'
  | 'redisWaitReplicas'
  | 'jwtAccessTtlMs'
  | 'jwtClockSkewMs'
  | 'redisWaitTimeoutMs'
  | 'cacheUserTtlMs'
  | 'cacheNegativeTtlMs'
  | 'cacheMaxEntries'
  | 'cacheEnabled'
  | 'cacheL1MaxEntries'
  | 'cacheL1MaxBytes'
  | 'cacheL1TtlMs'
  | 'cacheL1StalenessMs'
  | 'jwtSecret'
  | 'dataDir'
  | 'dbReplicaMaxLagMs'
  | 'dbReplicaPollMs'
>;

/** The Redis-backed adapters when Redis is configured, the in-memory ones otherwise. */
export function adapters(
  database: DatabaseHandle,
  redis?: RedisClient,
  settings: AdapterSettings = loadConfig({}),
  options: {
    /** BullMQ's connection; without it jobs run in process. */
    queueRedis?: RedisClient;
    /** Redis name of the pending view counters; tests give each app its own. */
    viewCountersName?: string;
    /** Streaming standbys for the reads marked replica-safe. */
    replicas?: Replica[];
    /** Redis prefix of the actors' write positions; tests give each app set its own. */
    writeMarksPrefix?: string;
  } = {},
): Dependencies {
  // Not 'views': batches of profile views left there by an older version must not be
  // applied as post views.
  const { queueRedis, viewCountersName = 'post-views', replicas = [] } = options;
  const replicaReads = new ReplicaReads(
    database.db,
    replicas,
    redis ? new RedisWriteMarks(redis, options.writeMarksPrefix) : new MemoryWriteMarks(),
    { maxLagMs: settings.dbReplicaMaxLagMs, pollMs: settings.dbReplicaPollMs },
  );
  // Polls in the background (timers that don't hold the process) until closeDependencies.
  replicaReads.start();
  return {
    database,
    redis,
    queueRedis,
    revocations: redis
      ? new RedisRevocationList(
          redis,
          {
            ...REVOCATION_MIRROR,
            // On a cluster the deny list's channel and its key may sit on different nodes, so a
            // PING proves nothing about the messages: every check asks Redis.
            mirror: !isCluster(redis),
            waitReplicas: settings.redisWaitReplicas,
            waitTimeoutMs: settings.redisWaitTimeoutMs,
          },
          undefined,
          {
            sessions: new PostgresSessionsRepository(database.db),
            denyForMs: settings.jwtAccessTtlMs + settings.jwtClockSkewMs,
          },
        )
      : new MemoryRevocationList(),
    loginAttempts: redis ? new RedisAttemptStore(redis) : new MemoryAttemptStore(),
    cache: cacheFor(redis, settings),
    viewCounters: redis
      ? new RedisPendingCounters(redis, viewCountersName)
      : new MemoryPendingCounters(),
    signingKey: signingKey(settings),
    replicaReads,
  };
}

/**
 * CACHE_ENABLED=false: none. Without Redis: the memory cache, the only level. With Redis: the
 * Redis cache, behind an in-process level unless CACHE_L1_MAX_ENTRIES is 0.
 */
function cacheFor(redis: RedisClient | undefined, settings: AdapterSettings): CacheHandle {
  if (!settings.cacheEnabled) return new DisabledCache();
  const store = redis ? new RedisCache(redis) : new MemoryCache(settings.cacheMaxEntries);
  const guarded = new GuardedCache(store, {
    timeoutMs: settings.redisCommandTimeoutMs,
    // The longest an entry lives: the user TTL plus its jitter.
    maxEntryLifetimeMs: Math.ceil(settings.cacheUserTtlMs * 1.1),
    maxSuspects: settings.cacheMaxEntries,
    retryIntervalMs: CACHE_RETRY_INTERVAL_MS,
  });
  // On a cluster the invalidation channel and the heartbeat's PING may take different nodes,
  // so a PONG proves nothing about the messages: no in-process level there.
  if (!redis || settings.cacheL1MaxEntries === 0 || isCluster(redis)) return guarded;
  const staleness = settings.cacheL1StalenessMs;
  return new TwoLevelCache(
    guarded,
    new InvalidationBus(redis, { heartbeatMs: Math.max(5, Math.floor(staleness / 4)) }),
    {
      maxEntries: settings.cacheL1MaxEntries,
      maxBytes: settings.cacheL1MaxBytes,
      ttlMs: settings.cacheL1TtlMs,
      stalenessMs: staleness,
      // Every process reconnects within REDIS_RECONNECT_MAX_MS of the first, then retries its
      // failed invalidations within CACHE_RETRY_INTERVAL_MS (at once, for a two-level one).
      recoveryMs: REDIS_RECONNECT_MAX_MS + CACHE_RETRY_INTERVAL_MS + 1_000,
    },
  );
}

export async function closeDependencies(deps: Dependencies) {
  await deps.replicaReads.close();
  await deps.cache.close();
  deps.redis?.disconnect();
  deps.queueRedis?.disconnect();
  await deps.database.close();
}
