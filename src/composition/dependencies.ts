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
  type SessionAuthority,
} from '../platform/auth/revocations.js';
import { PostgresSessionsRepository } from '../modules/auth/sessions.repository.js';
import { resolveJwtSecret } from '../platform/auth/secret.js';
import { MemoryPendingCounters, type PendingCounters } from '../platform/cache/counters.js';
import { GuardedCache } from '../platform/cache/guarded-cache.js';
import { MemoryCache } from '../platform/cache/memory-cache.js';
import { RedisCache } from '../platform/cache/redis-cache.js';
import { RedisPendingCounters } from '../platform/cache/redis-counters.js';
import { redisReady } from '../platform/cache/redis-ready.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { assertMigrated, migrate } from '../platform/db/migrate.js';
import { openDatabase } from '../platform/db/open.js';
import {
  connectRedis,
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
  cache: GuardedCache;
  /** Pending post views (write-behind). */
  viewCounters: PendingCounters;
  /** The key access tokens are signed with (signingKey below). */
  signingKey: Uint8Array;
}

/**
 * JWT_SECRET when set; otherwise the development key kept in DATA_DIR/jwt-secret, created on
 * first use. The one file that building the dependencies may write.
 */
export function signingKey(config: Pick<Config, 'jwtSecret' | 'dataDir'>): Uint8Array {
  return resolveJwtSecret(config.jwtSecret, config.dataDir);
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
  return adapters(database, redis, config, { queueRedis });
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
  | 'jwtSecret'
  | 'dataDir'
>;

/** Ended sessions as the database has them: what the Redis deny list copies. */
function sessionAuthority(
  database: DatabaseHandle,
  settings: Pick<Config, 'jwtAccessTtlMs' | 'jwtClockSkewMs'>,
): SessionAuthority {
  const sessions = new PostgresSessionsRepository(database.db);
  // An access token lives its TTL, plus the skew another host's clock may add.
  const lifetimeMs = settings.jwtAccessTtlMs + settings.jwtClockSkewMs;
  return {
    sessionEnded: (sid) => sessions.isEnded(sid),
    recentlyEnded: () => sessions.endedWithin(lifetimeMs),
  };
}

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
    revocations: redis
      ? new RedisRevocationList(redis, {
          ...REVOCATION_MIRROR,
          // On a cluster the deny list's channel and its key may sit on different nodes, so a
          // PING proves nothing about the messages: every check asks Redis.
          mirror: !isCluster(redis),
          waitReplicas: settings.redisWaitReplicas,
          waitTimeoutMs: settings.redisWaitTimeoutMs,
          authority: sessionAuthority(database, settings),
        })
      : new MemoryRevocationList(),
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
    signingKey: signingKey(settings),
  };
}

export async function closeDependencies(deps: Dependencies) {
  deps.cache.close();
  deps.redis?.disconnect();
  deps.queueRedis?.disconnect();
  await deps.database.close();
}
