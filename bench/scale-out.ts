import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from './lib/database.js';
import { BENCH_JWT_SECRET } from './lib/servers.js';
import { readSettings, withoutPassword } from './lib/settings.js';
import { accessTokenFor, createBenchUser, sampleUserIds } from './scenarios/bench-users.js';

/**
 * `npm run bench:scale-out`: the cached `GET /api/v1/users/:id` (Redis cache-aside, auth and
 * the shared rate limit on) against 1, 2 and 3 API processes started by `npm run cluster` on
 * one PostgreSQL and one Redis, the load split evenly over them. A figure to record, not a
 * target: on one machine the processes, PostgreSQL, Redis and the load generator share the
 * cores. Needs the bench database `npm run bench` seeds (BENCH_DATABASE_URL, BENCH_REDIS_URL).
 */

const BASE_PORT = 3400;
const settings = readSettings();
const handle = openDatabase(settings.databaseUrl);
const ids = await sampleUserIds(handle.db, 1_000);
const admin = await createBenchUser(handle.db, 'admin');
const token = await accessTokenFor(admin, BENCH_JWT_SECRET);
await handle.close();

async function ready(port: number) {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health/ready`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`API on ${port} did not become ready`);
}

function load(port: number, connections: number, durationS: number) {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: durationS,
    timeout: 10,
    requests: [
      {
        method: 'GET',
        headers: { authorization: `Bearer ${token}` },
        setupRequest: (request) => ({
          ...request,
          path: `/api/v1/users/${ids[Math.floor(Math.random() * ids.length)]!}`,
        }),
      },
    ],
  });
}

async function run(processes: number) {
  const cluster = spawn(
    process.execPath,
    [
      'dist/cli/cluster.js',
      '--api',
      String(processes),
      '--workers',
      '0',
      '--port',
      String(BASE_PORT),
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        DATABASE_URL: settings.databaseUrl,
        REDIS_URL: settings.redisUrl,
        JWT_SECRET: BENCH_JWT_SECRET,
        RATE_LIMIT_MAX: '1000000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const ports = Array.from({ length: processes }, (_, i) => BASE_PORT + i);
  try {
    for (const port of ports) await ready(port);
    const share = Math.ceil(settings.connections / processes);
    await Promise.all(ports.map((port) => load(port, share, settings.warmupS)));
    const results = await Promise.all(ports.map((port) => load(port, share, settings.durationS)));
    const reqPerSec = results.reduce((sum, r) => sum + r.requests.average, 0);
    const failed = results.reduce((sum, r) => sum + r.errors + r.non2xx, 0);
    return { processes, reqPerSec, failed };
  } finally {
    const exited = once(cluster, 'exit');
    cluster.kill('SIGTERM');
    await exited;
  }
}

const rows = [];
for (const processes of [1, 2, 3]) rows.push(await run(processes));
const load1 = os.loadavg()[0]!.toFixed(1);
process.stdout.write(
  `cached GET /api/v1/users/:id, ${settings.connections} connections split over the processes, ` +
    `${settings.durationS} s after ${settings.warmupS} s warm-up; ${os.cpus().length} cores ` +
    `(${os.cpus()[0]?.model ?? 'unknown'}); ${withoutPassword(settings.databaseUrl)}; load ${load1}\n\n` +
    `| API processes | req/s | per process | failed |\n| --- | --- | --- | --- |\n` +
    rows
      .map(
        (r) =>
          `| ${r.processes} | ${Math.round(r.reqPerSec).toLocaleString('en')} | ` +
          `${Math.round(r.reqPerSec / r.processes).toLocaleString('en')} | ${r.failed} |`,
      )
      .join('\n') +
    '\n',
);
