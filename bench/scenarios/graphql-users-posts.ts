import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../../src/platform/db/database.js';
import { accessTokenFor, createBenchUser } from './bench-users.js';
import type { Scenario } from './scenario.js';

const USERS = 20;
const POSTS_EACH = 10;

/** The 20 newest users (the first page both sides read) get 10 posts each, once. */
export async function seedPosts(db: Database) {
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
 * One GraphQL request for 20 users and their posts, against a bare server running the same two
 * statements and answering the same bytes (bench/baseline-graphql-sql.ts). Stratum as an admin
 * with a Bearer token; the baseline ignores the token.
 */
export const graphqlUsersPosts: Scenario = {
  name: 'graphql-users-posts',
  description: `POST /graphql ${QUERY} vs bare Fastify running the same two SQL statements`,
  ratioTarget: 0.5,
  baseline: { kind: 'server', script: 'bench/baseline-graphql-sql.ts' },
  async prepare({ db, jwtSecret }) {
    const admin = await createBenchUser(db, 'admin');
    await seedPosts(db);
    const headers = {
      authorization: `Bearer ${await accessTokenFor(admin, jwtSecret)}`,
      'content-type': 'application/json',
    };
    const request = {
      method: 'POST' as const,
      path: '/graphql',
      headers,
      body: JSON.stringify({ query: QUERY }),
    };
    return {
      samplePath: '/health/ready',
      // The GraphQL answer and the baseline's must be the same bytes, or the two did different work.
      sameBytes: request,
      requests: [request],
    };
  },
};
