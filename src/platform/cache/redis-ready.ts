import type { RedisClient } from '../redis/connect.js';

/**
 * Resolves once the connection is ready, rejects with the first connection error or after
 * timeoutMs. ioredis keeps reconnecting on its own; this only waits for the first outcome, so
 * start-up can tell a Redis that is down from one that is slow to answer.
 */
export function redisReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => settle();
    const onError = (err: Error) => settle(err);
    const timer = setTimeout(
      () => settle(new Error(`connection timeout after ${timeoutMs} ms`)),
      timeoutMs,
    );
    function settle(err?: Error) {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      if (err) reject(err);
      else resolve();
    }
    redis.once('ready', onReady);
    redis.on('error', onError);
  });
}
