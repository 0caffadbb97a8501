import { spawn } from 'node:child_process';
import { redisTopologySkip, startRedisCluster } from '../test/support/redis-topologies.js';

/**
 * `npm run test:redis-ha`: the suites that must hold on a highly available Redis.
 *
 * 1. The BullMQ, cache, rate-limit and revocation suites, unchanged, on a private three-master
 *    Redis Cluster (TEST_REDIS_TOPOLOGY=cluster), plus the cluster's own checks.
 * 2. The Sentinel suites, which start their own master, replica and sentinels: a connection
 *    ioredis ends during a reconnect comes back, and the failover fault test.
 *
 * Everything runs on free ports and is removed afterwards; the machine's Redis is not touched.
 */

const CLUSTER_SUITES = [
  'test/redis-ha/cluster.test.ts',
  'test/processes/bullmq.test.ts',
  'test/services/cache/cache-adapters.test.ts',
  'test/services/cache/guarded-cache.test.ts',
  'test/http/users.cache.test.ts',
  'test/http/products.cache.test.ts',
  'test/http/post-views.test.ts',
  'test/http/revocations.test.ts',
  'test/http/rate-limit.test.ts',
  'test/services/login-throttle.test.ts',
];
const SENTINEL_SUITES = [
  'test/redis-ha/sentinel-reconnect.test.ts',
  'test/redis-ha/sentinel-failover.test.ts',
];

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', ...files],
    { stdio: 'inherit', env: { ...process.env, ...env } },
  );
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

const skip = redisTopologySkip();
if (skip) process.exit(0);

let failed = false;
const cluster = await startRedisCluster();
try {
  process.stdout.write(`# Redis Cluster at ${cluster.nodes.join(', ')}\n`);
  const code = await runTests(CLUSTER_SUITES, {
    TEST_REDIS_TOPOLOGY: 'cluster',
    TEST_REDIS_CLUSTER_NODES: cluster.nodes.join(','),
  });
  failed ||= code !== 0;
} finally {
  await cluster.close();
}
// `--cluster-only`: the cluster part alone, for a quicker run while working on it.
if (!process.argv.includes('--cluster-only')) {
  failed ||= (await runTests(SENTINEL_SUITES, {})) !== 0;
}
process.exit(failed ? 1 : 0);
