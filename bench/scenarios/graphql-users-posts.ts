import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../../src/platform/db/database.js';
import { accessTokenFor, createBenchUser } from './bench-users.js';
import type { Scenario } from './scenario.js';

const USERS = 20;
const POSTS_EACH = 10;

/** The 20 newest users (the first page both sides read) get 10 posts each, once. */
async function seedPosts(db: Database) {
  const { rows } = await sql<{ id: string }>`
    select id from users order by created_at desc, id desc limit ${USERS}`.execute(db);
  for (const { id } of rows) {
    const { count } = await db
      .selectFrom('posts')
      .select(sql<number>`count(*)::int`.as('count'))
      .where('author_id', '=', id)
      .executeTakeFirstOrThrow();
    if (count >= POSTS_EACH) continue;
    await db
      .insertInto('posts')
      .values(
        Array.from({ length: POSTS_EACH - count }, (_, i) => ({
          id: uuidv7(),
          author_id: id,
          title: `Bench post ${i}`,
          content: 'Words for the benchmark, enough to look like a short post.',
        })),
      )
      .execute();
  }
}

const QUERY = `{ users(limit: ${USERS}) { posts { title } } }`;

/**
 * One GraphQL request for 20 users and their posts, against the REST calls that fetch the
 * same data (the list, then each user's posts: 21 requests), which the baseline front makes
 * against a second Stratum and counts as one request. Both as an admin with a Bearer token.
 */
export const graphqlUsersPosts: Scenario = {
  name: 'graphql-users-posts',
  description: `POST /graphql ${QUERY} vs the 21 REST requests for the same data (one unit)`,
  ratioTarget: 0.5,
  baseline: { kind: 'server', script: 'bench/baseline-graphql-rest.ts' },
  async prepare({ db, jwtSecret }) {
    const admin = await createBenchUser(db, 'admin');
    await seedPosts(db);
    const headers = {
      authorization: `Bearer ${await accessTokenFor(admin, jwtSecret)}`,
      'content-type': 'application/json',
    };
    return {
      // Both sides check their own answers (status 200 everywhere); the data's equality is
      // test/http/graphql's business. The readiness path is what both serve alike.
      samplePath: '/health/ready',
      requests: [
        { method: 'POST', path: '/graphql', headers, body: JSON.stringify({ query: QUERY }) },
      ],
    };
  },
};
