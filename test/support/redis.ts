import { Cluster, Redis } from 'ioredis';
import { connectRedis, type RedisClient } from '../../src/platform/redis/connect.js';
import { servicesOff, skipOrFail } from './skip.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * TEST_REDIS_TOPOLOGY=cluster (set by `npm run test:redis-ha`, with TEST_REDIS_CLUSTER_NODES):
 * the suites' Redis is a Redis Cluster instead of the one server at TEST_REDIS_URL, and the
 * suites run unchanged on it.
 */
export const TEST_REDIS_CLUSTER_NODES =
  process.env.TEST_REDIS_TOPOLOGY === 'cluster'
    ? (process.env.TEST_REDIS_CLUSTER_NODES ?? '').split(',').filter(Boolean)
    : [];
export const onCluster = process.env.TEST_REDIS_TOPOLOGY === 'cluster';
if (onCluster && TEST_REDIS_CLUSTER_NODES.length === 0) {
  throw new Error('TEST_REDIS_TOPOLOGY=cluster needs TEST_REDIS_CLUSTER_NODES (host:port,…)');
}

function clusterNodes() {
  return TEST_REDIS_CLUSTER_NODES.map((entry) => {
    const [host, port] = entry.split(':');
    return { host: host!, port: Number(port) };
  });
}

async function probeRedis(): Promise<string | undefined> {
  const redis = onCluster
    ? new Cluster(clusterNodes(), { lazyConnect: true, clusterRetryStrategy: () => null })
    : new Redis(TEST_REDIS_URL, {
        lazyConnect: true,
        // Generous, like the PostgreSQL probe: slow under load is not unreachable.
        connectTimeout: 10_000,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    const where = onCluster ? TEST_REDIS_CLUSTER_NODES.join(',') : TEST_REDIS_URL;
    return skipOrFail('Redis', `${where}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

/** Undefined when Redis is reachable, else the reason the suite is skipped. */
export const redisSkip = servicesOff ? 'Redis not used (TEST_SERVICES=none)' : await probeRedis();

export function openRedis(): RedisClient {
  if (onCluster) {
    const cluster = new Cluster(clusterNodes(), { redisOptions: { maxRetriesPerRequest: 1 } });
    cluster.on('error', () => {});
    return cluster;
  }
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return redis;
}

/** A connection as BullMQ needs it, to the test Redis (one server, or the cluster). */
export function openTestQueueRedis(): RedisClient {
  return onCluster
    ? connectRedis({ kind: 'cluster', nodes: TEST_REDIS_CLUSTER_NODES }, 'queue', {
        connectTimeoutMs: 10_000,
      })
    : connectRedis({ kind: 'single', url: TEST_REDIS_URL }, 'queue', { connectTimeoutMs: 10_000 });
}

/** The environment that points a spawned process's Redis at the test Redis. */
export function testRedisEnv(): Record<string, string> {
  return onCluster
    ? { REDIS_CLUSTER_NODES: TEST_REDIS_CLUSTER_NODES.join(',') }
    : { REDIS_URL: TEST_REDIS_URL };
}

/** The environment that points a spawned worker's BullMQ at the test Redis. */
export function testQueueRedisEnv(): Record<string, string> {
  return onCluster
    ? { REDIS_CLUSTER_NODES: TEST_REDIS_CLUSTER_NODES.join(',') }
    : { QUEUE_REDIS_URL: TEST_REDIS_URL };
}

/** Every key matching `pattern`, over every master of a cluster. */
export async function deleteMatching(pattern: string) {
  const redis = openRedis();
  try {
    await redis.ping();
    const masters = redis instanceof Cluster ? redis.nodes('master') : [redis];
    for (const node of masters) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        // One DEL per key: on a cluster the keys of one scan sit in many slots.
        for (const key of keys) await node.del(key);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
