import crypto from 'node:crypto';
import http from 'node:http';
import Fastify from 'fastify';
import { freePort, startServer } from './lib/children.js';
import { accessTokenFor } from './scenarios/bench-users.js';

/**
 * The yardstick for graphql-users-posts: the same data fetched the REST way. A second Stratum
 * (same build, same database, same pool size) serves REST; this front plays its client. Each
 * request it gets is one "unit": GET /api/v1/users?pageSize=20, then the 20 users' posts
 * (GET /api/v1/users/:id/posts?pageSize=10) in parallel, as a browser or a BFF would fetch
 * them, over keep-alive connections capped at the load's own connection count. It answers with
 * the GraphQL response's shape, so req/s here are REST units/s.
 */

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const jwtSecret = crypto.randomBytes(32).toString('hex');
const port = await freePort();
const stratum = await startServer({
  name: 'stratum (rest units)',
  args: ['dist/main.js'],
  env: {
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET: jwtSecret,
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_WINDOW_MS: '1000',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
  },
  port,
  readyPath: '/health/ready',
});
const token = await accessTokenFor(
  { id: crypto.randomUUID(), email: 'bench-front@example.com', role: 'admin' },
  jwtSecret,
);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

function getJson<T>(path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      `${stratum.baseUrl}${path}`,
      { agent, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`${path}: ${response.statusCode}`));
          else resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        });
      },
    );
    request.on('error', reject);
  });
}

async function usersWithPosts() {
  const users = await getJson<{ data: { id: string }[] }>('/api/v1/users?pageSize=20');
  return Promise.all(
    users.data.map(async ({ id }) => {
      const posts = await getJson<{ data: { title: string }[] }>(
        `/api/v1/users/${id}/posts?pageSize=10`,
      );
      return { posts: posts.data.map(({ title }) => ({ title })) };
    }),
  );
}

const app = Fastify({ logger: false });
app.get('/health/ready', async () => getJson('/health/ready'));
app.post('/graphql', async () => ({ data: { users: await usersWithPosts() } }));

process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => stratum.stop())
    .then(() => process.exit(0));
});

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
