import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, redisConfigured, withoutRedis } from '../../src/config.js';
import { redisTopology } from '../../src/platform/redis/connect.js';
import { queueKeyPrefix } from '../../src/platform/jobs/bullmq.js';

describe('Redis topology settings', () => {
  it('when REDIS_SENTINELS and a master name are set, then the topology is Sentinel, waiting for one replica', () => {
    const config = loadConfig({
      REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379',
      REDIS_SENTINEL_MASTER: 'main',
    });
    assert.deepEqual(redisTopology(config), {
      kind: 'sentinel',
      sentinels: ['10.0.0.1:26379', '10.0.0.2:26379'],
      master: 'main',
      sentinelPassword: undefined,
      password: undefined,
    });
    assert.equal(config.redisWaitReplicas, 1);
    assert.equal(redisConfigured(config), true);
  });

  it('when REDIS_CLUSTER_NODES is set, then the topology is a cluster, waiting for no replica', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001', REDIS_PASSWORD: 'pw' });
    assert.deepEqual(redisTopology(config), {
      kind: 'cluster',
      nodes: ['a:7000', 'b:7001'],
      password: 'pw',
    });
    assert.equal(config.redisWaitReplicas, 0);
  });

  it('when two topologies are set at once, then start-up is refused naming the second', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'redis://x:6379', REDIS_CLUSTER_NODES: 'a:7000' }),
      /REDIS_CLUSTER_NODES: must not be set together with REDIS_URL/,
    );
    assert.throws(
      () =>
        loadConfig({
          REDIS_SENTINELS: 'a:26379',
          REDIS_SENTINEL_MASTER: 'm',
          REDIS_CLUSTER_NODES: 'a:7000',
        }),
      /REDIS_CLUSTER_NODES: must not be set together with REDIS_SENTINELS/,
    );
  });

  it('when a sentinel list or its master name comes alone, or an address has no port, then start-up is refused', () => {
    assert.throws(() => loadConfig({ REDIS_SENTINELS: 'a:26379' }), /REDIS_SENTINEL_MASTER/);
    assert.throws(() => loadConfig({ REDIS_SENTINEL_MASTER: 'm' }), /REDIS_SENTINELS: is required/);
    assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'a' }), /REDIS_CLUSTER_NODES: must be/);
  });

  it('when Redis is switched off for a command, then no topology is left', () => {
    const config = withoutRedis(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000' }));
    assert.equal(redisTopology(config), undefined);
    assert.equal(redisConfigured(config), false);
  });

  it('when QUEUE_PREFIX has a brace, then start-up is refused; a queue gets its own hash tag', () => {
    assert.throws(() => loadConfig({ QUEUE_PREFIX: '{app}' }), /QUEUE_PREFIX: must not contain/);
    assert.equal(queueKeyPrefix('stratum', 'email'), 'stratum:{email}');
  });
});
