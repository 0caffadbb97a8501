import { sql } from 'kysely';
import type { Scenario } from './scenario.js';

const SAMPLE_IDS = 10_000;

/** GET /api/v1/users/:id for random seeded users: one primary-key lookup per request. */
export const usersById: Scenario = {
  name: 'users-by-id',
  description: 'GET /api/v1/users/:id, a random one of 10,000 seeded ids per request',
  ratioTarget: 0.8,
  baseline: 'bench/baseline-users.ts',
  async prepare({ db }) {
    const { rows } = await sql<{ id: string }>`
      select id from users order by random() limit ${SAMPLE_IDS}`.execute(db);
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) throw new Error('users-by-id: the users table is empty');
    const pathOf = (id: string) => `/api/v1/users/${id}`;
    return {
      samplePath: pathOf(ids[0]!),
      requests: [
        {
          method: 'GET',
          setupRequest: (request) => ({
            ...request,
            path: pathOf(ids[Math.floor(Math.random() * ids.length)]!),
          }),
        },
      ],
    };
  },
};
