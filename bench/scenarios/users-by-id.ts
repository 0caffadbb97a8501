import { accessTokenFor, createBenchUser, sampleUserIds } from './bench-users.js';
import type { Scenario } from './scenario.js';

const SAMPLE_IDS = 10_000;

/**
 * GET /api/v1/users/:id for random seeded users as an admin: one primary-key lookup per
 * request, with Stratum verifying the token, checking the deny list, counting the rate limit
 * and checking the permission. The bare baseline does the lookup only.
 */
export const usersById: Scenario = {
  name: 'users-by-id',
  description:
    'GET /api/v1/users/:id with a Bearer token (auth, deny list, rate limit, RBAC), a random one of 10,000 seeded ids per request',
  ratioTarget: 0.75,
  baseline: 'bench/baseline-users.ts',
  async prepare({ db, jwtSecret }) {
    const ids = await sampleUserIds(db, SAMPLE_IDS);
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
  },
};
