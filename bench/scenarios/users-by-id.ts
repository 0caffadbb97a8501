import { accessTokenFor, createBenchUser, sampleUserIds } from './bench-users.js';
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

export const usersById: Scenario = {
  name: 'users-by-id',
  description:
    'GET /api/v1/users/:id with a Bearer token (auth, deny list, rate limit, RBAC, in-memory user cache), a random one of 10,000 seeded ids per request',
  ratioTarget: 0.75,
  baseline: { kind: 'server', script: 'bench/baseline-users.ts' },
  prepare: byIdPlan(SAMPLE_IDS),
};

/**
 * The same route with REDIS_URL: Stratum serves users from its Redis cache-aside (with auth,
 * a Redis-backed rate limit and the deny list on), against bare Fastify + ioredis cache hits.
 */
export const usersByIdCached: Scenario = {
  name: 'users-by-id-cached',
  description:
    'GET /api/v1/users/:id with a Bearer token, Redis cache hits over 1,000 ids, vs bare Fastify + ioredis',
  ratioTarget: 0.7,
  baseline: { kind: 'server', script: 'bench/baseline-users-cached.ts' },
  redis: true,
  prepare: byIdPlan(HOT_IDS),
};
