import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { FIND_USER_BY_ID, userData, type UserRow } from './lib/user-row.js';

/**
 * The yardstick for the cached users-by-id: bare Fastify with an ioredis cache-aside in front
 * of the same pg statement, the same envelope, and nothing else (no auth, no rate limit, no
 * stampede or staleness protection). On a hit it does one Redis GET.
 */

const TTL_S = 1800;

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_MAX ?? 20),
});
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const app = Fastify({ logger: false });

const meta = (requestId: string) => ({ timestamp: new Date().toISOString(), requestId });

app.get('/health/ready', async (request) => {
  await Promise.all([pool.query('select 1'), redis.ping()]);
  return { data: { status: 'ok' }, meta: meta(request.id) };
});

app.get<{ Params: { id: string } }>('/api/v1/users/:id', async (request, reply) => {
  const key = `bench:v1:user:${request.params.id}`;
  const cached = await redis.get(key);
  if (cached) return { data: JSON.parse(cached) as unknown, meta: meta(request.id) };
  const { rows } = await pool.query<UserRow>(FIND_USER_BY_ID, [request.params.id]);
  const row = rows[0];
  if (!row) {
    const error = { code: 'NOT_FOUND', message: 'User not found' };
    return reply.status(404).send({ error, meta: meta(request.id) });
  }
  const data = userData(row);
  await redis.set(key, JSON.stringify(data), 'EX', TTL_S);
  return { data, meta: meta(request.id) };
});

process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => redis.quit())
    .then(() => process.exit(0));
});

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
