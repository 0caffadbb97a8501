import Fastify from 'fastify';
import pg from 'pg';

/**
 * The yardstick for graphql-users-posts: bare Fastify and a pg Pool running the two statements
 * Stratum's GraphQL path sends for `{ users(limit: 20) { posts { title } } }` (the page of users,
 * then every listed user's posts in one statement, as the loader batches them), copied from what
 * the API sends, and answering with the same bytes. No parsing, validation, limits, resolvers or
 * hooks: whatever Stratum spends beyond this is GraphQL's and its own overhead.
 */

const USERS_PAGE = `select "id", "name", "email", "role", "status", "email_verified_at", "created_at", "updated_at" from "users" order by "created_at" desc, "id" desc limit $1 offset $2`;
const POSTS_OF_AUTHORS = `
      select p.* from unnest($1::uuid[]) as a(id)
      cross join lateral (
        select "id", "author_id", "title", "content", "view_count", "created_at", "updated_at" from posts
        where posts.author_id = a.id
        order by created_at desc, id desc
        limit $2
      ) as p`;
const USERS = 20;
const POSTS_EACH = 10;

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_MAX ?? 20),
});
const app = Fastify({ logger: false });

app.get('/health/ready', async (request) => {
  await pool.query('select 1');
  return {
    data: { status: 'ok', checks: { database: 'ok' } },
    meta: { timestamp: new Date().toISOString(), requestId: request.id },
  };
});

app.post('/graphql', async () => {
  const users = await pool.query<{ id: string }>(USERS_PAGE, [USERS, 0]);
  const ids = users.rows.map((u) => u.id);
  const posts = await pool.query<{ author_id: string; title: string }>(POSTS_OF_AUTHORS, [
    ids,
    POSTS_EACH,
  ]);
  const byAuthor = new Map<string, { title: string }[]>(ids.map((id) => [id, []]));
  for (const post of posts.rows) byAuthor.get(post.author_id)!.push({ title: post.title });
  return { data: { users: ids.map((id) => ({ posts: byAuthor.get(id)! })) } };
});

process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
