import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startServer, type ChildServer } from './children.js';

/** How each server under test is started: Stratum as built, and the bare baselines. */

export const POOL_MAX = 20;
/** Stratum signs with this key in a bench run, so scenarios can mint access tokens. */
export const BENCH_JWT_SECRET = crypto.randomBytes(32).toString('hex');
export const BENCH_ACCESS_TTL = '1h';
const READY_PATH = '/health/ready';

// Set in the caller's shell, these would change what is measured (another database, Redis...).
const NOT_INHERITED = [
  'DATABASE_URL',
  'REDIS_URL',
  'QUEUE_REDIS_URL',
  'SMTP_URL',
  'DATA_DIR',
  'MIGRATE_ON_START',
];

/** The environment of a production start. */
function stratumEnv(port: number, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  for (const name of NOT_INHERITED) delete inherited[name];
  return {
    ...inherited,
    NODE_ENV: 'production',
    // A throwaway signing secret, for a configuration that insists on one in production.
    JWT_SECRET: BENCH_JWT_SECRET,
    // The tokens the scenarios sign (bench-users.ts) live an hour: a server with a shorter TTL
    // would refuse them once that much of a run had passed.
    JWT_ACCESS_TTL: BENCH_ACCESS_TTL,
    // A rate limiter, where there is one, still runs on every request; it only must not refuse
    // the load generator, which sends everything from one address.
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_WINDOW_MS: '1000',
    // The same for the budgets of emails asked per address (the forgot-password rows).
    ACCOUNT_EMAIL_MAX_REQUESTS: '1000',
    ACCOUNT_EMAIL_ACCOUNT_MAX_REQUESTS: '100000',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    DB_POOL_MAX: String(POOL_MAX),
    ...extra,
  };
}

/**
 * Stratum on the bench database, as `node dist/main.js` runs in production: directly, or
 * through a transaction pooler (DB_POOLER) when `poolerUrl` is given, reading from the standbys
 * at `replicaUrls` (DATABASE_REPLICA_URLS) when given. Its DATA_DIR is a
 * temporary folder, removed when it stops: without SMTP_URL the emails it sends (order
 * confirmations) are files there, not in the project's .data.
 */
export async function startStratum(
  database: { databaseUrl: string; poolerUrl?: string; replicaUrls?: string },
  redisUrl?: string,
  extraEnv: Record<string, string> = {},
): Promise<ChildServer> {
  const port = await freePort();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'stratum-bench-data-'));
  const server = await startServer({
    name: `stratum${redisUrl ? ' (redis)' : ''}${Object.keys(extraEnv).length ? ` ${JSON.stringify(extraEnv)}` : ''}`,
    // BENCH_STRATUM_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, to profile a run.
    args: [
      ...(process.env.BENCH_STRATUM_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      'dist/main.js',
    ],
    env: stratumEnv(port, {
      ...(database.poolerUrl
        ? { DATABASE_URL: database.poolerUrl, DB_POOLER: 'transaction' }
        : { DATABASE_URL: database.databaseUrl }),
      ...(database.replicaUrls ? { DATABASE_REPLICA_URLS: database.replicaUrls } : {}),
      DATA_DIR: dataDir,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      ...extraEnv,
    }),
    port,
    readyPath: READY_PATH,
  }).catch(async (err: unknown) => {
    await fs.rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  return {
    ...server,
    async stop() {
      await server.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A bare baseline server from bench/, on the same database and pool size as Stratum. */
export async function startBaseline(
  script: string,
  databaseUrl: string,
  redisUrl?: string,
): Promise<ChildServer> {
  const port = await freePort();
  return startServer({
    name: `baseline (${path.basename(script, '.ts')})`,
    args: ['--import', 'tsx', script],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DB_POOL_MAX: String(POOL_MAX),
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    },
    port,
    readyPath: READY_PATH,
  });
}

export interface StartupTimes {
  /** Spawn to ready on an empty data folder: includes creating the embedded database. */
  embeddedFirstMs: number;
  /** Resident memory of that first start, EMBEDDED_IDLE_MS after its spawn, left idle. */
  embeddedRssMb: number;
  /** Spawn to ready again on the same folder. */
  embeddedWarmMs: number;
  /** `npm start` on the same folder with the build up to date, spawn to ready: each run. */
  restartMs: number[];
}

/** What a developer's restart must take, `npm start` to the first 200 from /health/ready. */
export const RESTART_TARGET_MS = 2_000;
const RESTARTS = 3;
/** When the embedded default's memory is read: this long after its spawn, idle since ready. */
export const EMBEDDED_IDLE_MS = 60_000;
/** The embedded default's resident memory budget at that point. */
export const EMBEDDED_RSS_TARGET_MB = 250;

async function startEmbedded(dataDir: string): Promise<ChildServer> {
  const port = await freePort();
  return startServer({
    name: 'stratum (embedded)',
    args: ['dist/main.js'],
    env: stratumEnv(port, { DATA_DIR: dataDir }),
    port,
    readyPath: READY_PATH,
  });
}

async function embeddedReadyMs(dataDir: string): Promise<number> {
  const server = await startEmbedded(dataDir);
  await server.stop();
  return server.readyMs;
}

/**
 * The first start on an empty folder, timed to ready, then left idle until EMBEDDED_IDLE_MS
 * after its spawn, when its resident memory is read: the creation of the database and the
 * migrations are behind it, as they are for anyone who has just run `npm start`.
 */
async function firstEmbeddedStart(dataDir: string) {
  const server = await startEmbedded(dataDir);
  try {
    await sleep(Math.max(0, EMBEDDED_IDLE_MS - server.readyMs));
    return { embeddedFirstMs: server.readyMs, embeddedRssMb: server.rssMb() };
  } finally {
    await server.stop();
  }
}

/** npm's own script when the bench runs under npm, else the npm installed beside this node. */
function npmCli(): string {
  return (
    process.env.npm_execpath ||
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js')
  );
}

/**
 * A developer's restart: `npm start` as typed (the build check, then `node dist/main.js`) in
 * development with the defaults, the embedded database already there.
 */
async function npmStartReadyMs(dataDir: string): Promise<number> {
  const port = await freePort();
  const server = await startServer({
    name: 'stratum (npm start)',
    args: [npmCli(), 'start', '--silent'],
    env: stratumEnv(port, { DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'info' }),
    port,
    readyPath: READY_PATH,
    group: true,
  });
  await server.stop();
  return server.readyMs;
}

/**
 * Starts embedded Stratum on a fresh temporary data folder (which creates the database) and
 * reads its memory once it has idled, starts it again, then restarts it with `npm start` a few
 * times; removes the folder.
 */
export async function measureEmbeddedStartup(): Promise<StartupTimes> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'stratum-bench-'));
  try {
    const first = await firstEmbeddedStart(dataDir);
    const embeddedWarmMs = await embeddedReadyMs(dataDir);
    const restartMs: number[] = [];
    for (let i = 0; i < RESTARTS; i++) restartMs.push(await npmStartReadyMs(dataDir));
    return { ...first, embeddedWarmMs, restartMs };
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
