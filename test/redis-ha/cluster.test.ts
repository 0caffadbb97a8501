import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { RedisRevocationList, REVOCATION_MIRROR } from '../../src/platform/auth/revocations.js';
import { RedisAttemptStore } from '../../src/platform/auth/login-throttle.js';
import { cacheKey, generationKey } from '../../src/platform/cache/cache.js';
import { RedisCache } from '../../src/platform/cache/redis-cache.js';
import { RedisPendingCounters } from '../../src/platform/cache/redis-counters.js';
import { closeQueues, openQueues } from '../../src/platform/jobs/bullmq.js';
import { connectRedis } from '../../src/platform/redis/connect.js';
import { deleteQueueKeys, uniqueQueuePrefix } from '../support/queues.js';
import { onCluster, openRedis, redisSkip, TEST_REDIS_CLUSTER_NODES } from '../support/redis.js';

/*
 * What only a Redis Cluster shows: the keys one script or one BullMQ call touches share a slot,
 * and different queues land on different nodes. Declared only when the suites run on a cluster
 * (`npm run test:redis-ha`).
 */

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

if (onCluster) {
  describe('Redis Cluster', { skip: redisSkip }, () => {
    const redis = openRedis() as Cluster;
    const connections: { disconnect(): void }[] = [redis];
    after(() => connections.forEach((c) => c.disconnect()));

    const slotOf = async (key: string) => Number(await redis.call('CLUSTER', 'KEYSLOT', key));
    /** The master serving a slot, as `host:port`. */
    const nodeOf = async (slot: number) => {
      const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
      return `${range[2][0]}:${range[2][1]}`;
    };
    /** Every key matching `pattern` on every master. */
    const keysMatching = async (pattern: string) => {
      const found: string[] = [];
      for (const node of redis.nodes('master')) found.push(...(await node.keys(pattern)));
      return found;
    };

    it('when jobs are added to several queues, then each queue stays in one slot and the queues spread over the nodes', async () => {
      const prefix = uniqueQueuePrefix();
      const queueRedis = connectRedis(
        { kind: 'cluster', nodes: TEST_REDIS_CLUSTER_NODES },
        'queue',
        {
          connectTimeoutMs: 10_000,
        },
      );
      connections.push(queueRedis);
      const names = ['email', 'reports', 'exports', 'imports', 'webhooks', 'thumbnails'];
      const queues = openQueues(
        names,
        { connection: queueRedis, prefix, retry: { attempts: 1, backoffMs: 10 } },
        silent,
      );
      try {
        for (const queue of queues.values()) {
          await queue.add('noop', { payload: null, requestId: null }, { delay: 60_000 });
          await queue.add('noop', { payload: null, requestId: null });
        }
        const nodes = new Set<string>();
        for (const name of names) {
          const keys = await keysMatching(`${prefix}:{${name}}:*`);
          assert.ok(keys.length >= 3, `queue ${name} has keys: ${keys.join(', ')}`);
          const slots = new Set(await Promise.all(keys.map(slotOf)));
          assert.equal(slots.size, 1, `every key of queue ${name} in one slot`);
          nodes.add(await nodeOf([...slots][0]!));
        }
        assert.ok(nodes.size > 1, `the queues spread over the nodes: ${[...nodes].join(', ')}`);
      } finally {
        await closeQueues(queues);
        await deleteQueueKeys(prefix);
      }
    });

    it('when the cache writes an entry, then the entry and its generation share a slot', async () => {
      const key = cacheKey('user', randomUUID());
      assert.equal(await slotOf(generationKey(key)), await slotOf(key));
      const cache = new RedisCache(redis);
      await cache.put(key, { version: 1, data: { id: 'x' } }, 60_000);
      const found = await cache.lookup(key);
      assert.deepEqual(found, { hit: true, entry: { version: 1, data: { id: 'x' } } });
      await cache.invalidate(key);
      assert.equal((await cache.lookup(key)).hit, false);
    });

    it('when pending counters are claimed and acked, then their keys share a slot', async () => {
      const counters = new RedisPendingCounters(redis, `views-${randomUUID()}`);
      await counters.increment('a', 3);
      const batch = await counters.claim(10_000);
      assert.equal(batch?.counts.get('a'), 3);
      await counters.ack(batch.id);
      assert.equal(await counters.claim(10_000), undefined);
    });

    it('when the login throttle counts attempts, then its script runs within one slot', async () => {
      const store = new RedisAttemptStore(redis, `stratum:test:${randomUUID()}:`);
      const limits = { maxPerAddress: 1, maxPerAccount: 10, windowMs: 60_000, familiarMs: 60_000 };
      assert.deepEqual(await store.reserve('acct', 'addr', limits), { allowed: true });
      const refused = await store.reserve('acct', 'addr', limits);
      assert.equal(refused.allowed, false);
    });

    it('when a token is revoked through one process, then another refuses it at once (no mirror on a cluster)', async () => {
      const key = `stratum:test:deny:${randomUUID()}`;
      const other = openRedis();
      connections.push(other);
      const options = { ...REVOCATION_MIRROR, mirror: false };
      const first = new RedisRevocationList(redis, options, key);
      const second = new RedisRevocationList(other, options, key);
      first.start();
      second.start();
      const sid = randomUUID();
      assert.equal(await second.isRevoked(randomUUID(), sid), false);
      await first.revoke('sid', sid, 60_000);
      assert.equal(await second.isRevoked(randomUUID(), sid), true);
      await Promise.all([first.stop(), second.stop()]);
    });
  });
}
