import { Redis } from 'ioredis';
import { servicesOff, skipOrFail } from './skip.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probeRedis(): Promise<string | undefined> {
  const redis = new Redis(TEST_REDIS_URL, {
    lazyConnect: true,
    // Generous, like the PostgreSQL probe: slow under load is not unreachable.
    connectTimeout: 10_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    return skipOrFail('Redis', `${TEST_REDIS_URL}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

/** Undefined when Redis is reachable, else the reason the suite is skipped. */
export const redisSkip = servicesOff ? 'Redis not used (TEST_SERVICES=none)' : await probeRedis();

export function openRedis(): Redis {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return redis;
}
