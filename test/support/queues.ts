import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import type { RedisClient } from '../../src/platform/redis/connect.js';
import { deleteMatching, openTestQueueRedis, TEST_REDIS_URL } from './redis.js';

/** A BullMQ prefix of its own per suite, so parallel suites never share a queue. */
export function uniqueQueuePrefix(): string {
  return `stratum-test-${randomBytes(5).toString('hex')}`;
}

/**
 * A connection as BullMQ needs it (maxRetriesPerRequest: null): to `url`, or without one to
 * the test Redis (one server, or the cluster under TEST_REDIS_TOPOLOGY=cluster).
 */
export function openQueueRedis(url?: string): RedisClient {
  if (url === undefined) return openTestQueueRedis();
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  return redis;
}

/** Deletes every key of a suite's queues. */
export async function deleteQueueKeys(prefix: string) {
  await deleteMatching(`${prefix}:*`);
}

/**
 * A TCP proxy in front of Redis that a test can take down and bring back on the same port,
 * so a client sees Redis vanish and return.
 */
export async function startRedisProxy(target = new URL(TEST_REDIS_URL)) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  // The target's database index and credentials travel with the proxy's address.
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    async down() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    up: () => listen(port),
    async close() {
      if (server.listening) await this.down();
    },
  };
}
