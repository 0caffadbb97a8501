import { accessTokenFor, createBenchUser, sampleUserIds } from './bench-users.js';
import { httpGet } from '../lib/children.js';
import type { Scenario } from './scenario.js';

const SAMPLE_IDS = 10_000;
// Few enough that the warm-up touches every id: the timed run measures cache hits.
const HOT_IDS = 1_000;

/**
 * GET /api/v1/users/:id for random seeded users as an admin: one primary-key lookup per
 * request, with Stratum verifying the token, checking the deny list, counting the rate limit
 * and checking the permission. The bare baseline does the lookup only.
 */
function byIdPlan(count: number): Scenario['prepare'] {
  return async ({ db, jwtSecret }) => {
    const ids = await sampleUserIds(db, count);
    const admin = await createBenchUser(db, 'admin');
    const headers = { authorization: `Bearer ${await accessTokenFor(admin, jwtSecret)}` };
    const pathOf = (id: string) => `/api/v1/users/${id}`;
    return {
      samplePath: pathOf(ids[0]!),
      headers,
      requests: [
        {
          method: 'GET',
          headers,
          setupRequest: (request) => ({
            ...request,
            path: pathOf(ids[Math.floor(Math.random() * ids.length)]!),
          }),
        },
      ],
    };
  };
}

/** Cache hits the Stratum under load has counted (`/metrics`), over every kind. */
async function cacheHits(stratumUrl: string): Promise<number> {
  const { status, body } = await httpGet(`${stratumUrl}/metrics`);
  if (status !== 200) throw new Error(`GET /metrics: ${status}`);
  return body
    .split('\n')
    .filter(
      (line) => line.startsWith('stratum_cache_lookups_total{') && line.includes('result="hit"'),
    )
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

export const usersById: Scenario = {
  name: 'users-by-id',
  description:
    'GET /api/v1/users/:id with a Bearer token (auth, deny list, rate limit, RBAC), caching off (CACHE_ENABLED=false): one query per request, a random one of 10,000 seeded ids',
  ratioTarget: 0.9,
  baseline: { kind: 'server', script: 'bench/baseline-users.ts' },
  stratumEnv: { CACHE_ENABLED: 'false' },
  prepare: byIdPlan(SAMPLE_IDS),
  // The figures are uncached only if nothing was served from a cache.
  async settle({ stratumUrl }) {
    const hits = await cacheHits(stratumUrl);
    if (hits !== 0) throw new Error(`users-by-id: ${hits} cache hits with CACHE_ENABLED=false`);
    return 'cache hits: 0';
  },
};

/**
 * The same route with REDIS_URL: Stratum serves users from its two-level cache (in-process
 * hits, Redis behind them; auth, a Redis-backed rate limit and the deny list on), against bare
 * Fastify doing one ioredis GET per request.
 */
export const usersByIdCached: Scenario = {
  name: 'users-by-id-cached',
  description:
    'GET /api/v1/users/:id with a Bearer token, cache hits (in process, Redis behind) over 1,000 ids, vs bare Fastify + one ioredis GET',
  ratioTarget: 1.0,
  baseline: { kind: 'server', script: 'bench/baseline-users-cached.ts' },
  redis: true,
  prepare: byIdPlan(HOT_IDS),
};
