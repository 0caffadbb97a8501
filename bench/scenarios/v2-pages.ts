import { sql } from 'kysely';
import { encodeCursor } from '../../src/platform/http/cursor.js';
import { accessTokenFor, createBenchUser } from './bench-users.js';
import type { Scenario } from './scenario.js';

const LIMIT = 20;
// How deep the deep page starts: 90% into the users, newest first.
const DEPTH = 0.9;

/**
 * GET /api/v2/users by cursor as an admin, first page or a page deep in the collection. Both
 * are reported, not compared with a baseline: the target is between them, the deep page's
 * latency within 1.5x of the first page's (keyset pagination seeks through the index instead
 * of skipping rows, so depth should cost nothing).
 */
function pagePlan(depth: number): Scenario['prepare'] {
  return async ({ db, jwtSecret }) => {
    const admin = await createBenchUser(db, 'admin');
    const headers = { authorization: `Bearer ${await accessTokenFor(admin, jwtSecret)}` };
    let path = `/api/v2/users?limit=${LIMIT}`;
    if (depth > 0) {
      const { rows } = await sql<{ created_at: Date; id: string }>`
        select created_at, id from users order by created_at desc, id desc
        offset (select floor(count(*) * ${depth}::float8)::int from users) limit 1`.execute(db);
      const row = rows[0];
      if (!row) throw new Error('the users table is empty');
      path += `&cursor=${encodeCursor({ createdAt: row.created_at, id: row.id })}`;
    }
    return { samplePath: path, headers, requests: [{ method: 'GET', path, headers }] };
  };
}

export const v2FirstPage: Scenario = {
  name: 'v2-first-page',
  description: 'GET /api/v2/users?limit=20 (cursor pagination, first page) as an admin; reported',
  ratioTarget: null,
  baseline: null,
  prepare: pagePlan(0),
};

export const v2DeepPage: Scenario = {
  name: 'v2-deep-page',
  description:
    'GET /api/v2/users?limit=20 with a cursor 90% into the users; target: p50 within 1.5x of v2-first-page',
  ratioTarget: null,
  baseline: null,
  prepare: pagePlan(DEPTH),
};
