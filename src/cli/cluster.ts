import { loadDotEnv } from '../env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closeDependencies, createDependencies } from '../composition/dependencies.js';
import { loadConfigOrExit, redisConfigured, withoutRedis } from '../config.js';
import { migrate } from '../platform/db/migrate.js';
import { onMigrationDatabase } from '../platform/db/open.js';
import { exitOnStartupError } from '../platform/startup-errors.js';

/**
 * `npm run cluster -- --api N --workers M [--port P]`: N API processes on ports P, P+1, … and M
 * workers (health and metrics on WORKER_PORT P+100, P+101, …) against one PostgreSQL and one
 * Redis, for trying scale-out on one machine and for the multi-instance test. It migrates once,
 * restarts a process that dies, and on SIGTERM stops them all and waits. In production an
 * orchestrator (systemd, Kubernetes, …) plays this part; the processes are the same.
 */

const { values } = parseArgs({
  options: {
    api: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1' },
    port: { type: 'string' },
  },
});
const config = loadConfigOrExit();
const apiCount = Number(values.api);
const workerCount = Number(values.workers);
const basePort = Number(values.port ?? config.port);
if (![apiCount, workerCount, basePort].every(Number.isInteger) || apiCount < 1 || workerCount < 0) {
  process.stderr.write('usage: cluster --api N (≥ 1) --workers M (≥ 0) [--port P]\n');
  process.exit(1);
}
if (!config.databaseUrl || !redisConfigured(config)) {
  // Separate embedded databases and in-memory stores would be separate services, not a cluster.
  process.stderr.write('cluster needs DATABASE_URL and REDIS_URL: the processes share them\n');
  process.exit(1);
}

const fail = exitOnStartupError({ connectTimeoutMs: config.dbConnectTimeoutMs });
const deps = await createDependencies(
  { ...withoutRedis(config), migrateOnStart: false },
  { requireMigrated: false },
).catch(fail);
// An edited migration (or two with one number) ends it with its one line, like db:migrate.
await onMigrationDatabase(config, deps.database, (db) => migrate(db)).catch(fail);
await closeDependencies(deps);

// The entry points next to this file: dist/*.js when built, src/*.ts under tsx (tests).
const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const entry = (name: string) => fileURLToPath(new URL(`../${name}${extension}`, import.meta.url));

interface Member {
  name: string;
  file: string;
  env: NodeJS.ProcessEnv;
  child?: ChildProcess;
}

const members: Member[] = [
  ...Array.from({ length: apiCount }, (_, i) => ({
    name: `api-${i + 1}`,
    file: entry('main'),
    env: { PORT: String(basePort + i) },
  })),
  ...Array.from({ length: workerCount }, (_, i) => ({
    name: `worker-${i + 1}`,
    file: entry('worker'),
    env: { WORKER_PORT: String(basePort + 100 + i) },
  })),
];

let stopping = false;

function start(member: Member) {
  const child = spawn(process.execPath, [...process.execArgv, member.file], {
    env: { ...process.env, MIGRATE_ON_START: 'false', ...member.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  member.child = child;
  child.once('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`cluster: ${member.name} exited (${signal ?? code}); restarting in 1 s\n`);
    setTimeout(() => !stopping && start(member), 1_000);
  });
}

for (const member of members) start(member);
process.stderr.write(
  `cluster: ${apiCount} API on ${basePort}–${basePort + apiCount - 1}, ${workerCount} workers\n`,
);

async function stop(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  const exits = members.map((member) => {
    const child = member.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve(child?.exitCode ?? 0);
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill(signal === 'SIGINT' ? 'SIGTERM' : signal);
    return exited;
  });
  const codes = await Promise.all(exits);
  process.exit(codes.every((code) => code === 0) ? 0 : 1);
}

process.once('SIGTERM', (s) => void stop(s));
process.once('SIGINT', (s) => void stop(s));
