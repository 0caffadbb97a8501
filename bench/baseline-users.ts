import Fastify from 'fastify';
import pg from 'pg';
import { FIND_USER_BY_ID, userData, type UserRow } from './lib/user-row.js';

/**
 * The yardstick for users-by-id: bare Fastify and a pg Pool running the statement Stratum's
 * repository sends and answering with the same envelope, without Stratum's hooks, plugins,
 * schemas or query builder. Whatever Stratum spends beyond this is its own overhead.
 */

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_MAX ?? 20),
});
const app = Fastify({ logger: false });

const meta = (requestId: string) => ({ timestamp: new Date().toISOString(), requestId });

app.get('/health/ready', async (request) => {
  await pool.query('select 1');
  return { data: { status: 'ok' }, meta: meta(request.id) };
});

app.get<{ Params: { id: string } }>('/api/v1/users/:id', async (request, reply) => {
  const { rows } = await pool.query<UserRow>(FIND_USER_BY_ID, [request.params.id]);
  const row = rows[0];
  if (!row) {
    const error = { code: 'NOT_FOUND', message: 'User not found' };
    return reply.status(404).send({ error, meta: meta(request.id) });
  }
  const data = userData(row);
  return { data, meta: meta(request.id) };
});

process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
