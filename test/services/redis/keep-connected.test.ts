import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  connectRedis,
  duplicateClient,
  REDIS_RECONNECT_MAX_MS,
  type RedisClient,
} from '../../../src/platform/redis/connect.js';
import { onCluster, redisSkip, TEST_REDIS_URL } from '../../support/redis.js';
import { eventually, sleep } from '../../support/time.js';

/*
 * A connection that ioredis ends by itself (behind Sentinel: a failover notice while it
 * reconnects) is opened again; one this process closes stays closed.
 */

const skip =
  redisSkip ?? (onCluster ? 'one server only (the cluster client never ends)' : undefined);

const opened: RedisClient[] = [];
after(() => opened.forEach((client) => client.disconnect()));

async function open(): Promise<Redis> {
  const client = connectRedis({ kind: 'single', url: TEST_REDIS_URL }, 'fail-fast', {
    connectTimeoutMs: 10_000,
  }) as Redis;
  opened.push(client);
  await ready(client);
  return client;
}

async function ready(client: Redis): Promise<void> {
  if (client.status !== 'ready') await once(client, 'ready');
}

/** What ioredis does inside when a connector is told to disconnect mid-connect: the end. */
function endedByIoredis(client: Redis): Promise<void> {
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  Redis.prototype.disconnect.call(client);
  return ended;
}

describe('Redis connections kept open', { skip }, () => {
  it('when ioredis ends a connection by itself, then it is opened again and answers', async () => {
    const client = await open();
    assert.equal(await client.ping(), 'PONG');
    await endedByIoredis(client);
    await assert.rejects(client.ping(), /Connection is closed|enableOfflineQueue/);
    await eventually(async () => assert.equal(await client.ping(), 'PONG'), {
      timeoutMs: 10_000,
    });
  });

  it('when a subscribed duplicate is ended by ioredis, then it comes back subscribed', async () => {
    const client = await open();
    const subscriber = duplicateClient(client) as Redis;
    opened.push(subscriber);
    await ready(subscriber);
    const channel = `keep-connected:${randomUUID()}`;
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe(channel);
    await endedByIoredis(subscriber);
    await eventually(
      async () => {
        await client.publish(channel, 'after');
        assert.ok(received.includes('after'), 'a message published after the end arrives');
      },
      { timeoutMs: 10_000 },
    );
  });

  it('when the process closes a connection (disconnect or quit), then it stays closed', async () => {
    const [quitted, disconnected] = await Promise.all([open(), open()]);
    const ends = [quitted, disconnected].map(
      (client) => new Promise((resolve) => client.once('end', resolve)),
    );
    await quitted.quit();
    disconnected.disconnect();
    await Promise.all(ends);
    await sleep(REDIS_RECONNECT_MAX_MS + 500);
    assert.equal(quitted.status, 'end');
    assert.equal(disconnected.status, 'end');
  });
});
