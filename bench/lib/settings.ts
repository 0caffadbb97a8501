/** The benchmark's knobs, all from the environment, checked before anything starts. */

export interface BenchSettings {
  databaseUrl: string;
  /**
   * BENCH_DB_POOLER_URL: the bench database through a transaction pooler (PgBouncer). Stratum's
   * API processes use it with DB_POOLER=transaction; seeding and the baselines stay direct.
   */
  poolerUrl?: string;
  /**
   * BENCH_DATABASE_REPLICA_URLS: streaming standbys of the bench database. Stratum's API
   * processes get them as DATABASE_REPLICA_URLS; the baselines read the primary.
   */
  replicaUrls?: string;
  /** Redis for the scenarios that need it (caches, shared rate limit). */
  redisUrl: string;
  users: number;
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  /** Scenario names to run; empty means all. */
  only: string[];
  /** pgbench, the yardstick of the ledger scenarios: its database, scale and clients. */
  pgbench: PgbenchSettings;
}

export interface PgbenchSettings {
  databaseUrl: string;
  /** `pgbench -i -s`: branches; TPC-B's hot rows, so at least the client count. */
  scale: number;
  clients: number;
}

export class SettingsError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** The same server as the bench database, another database: pgbench's tables stay apart. */
function siblingDatabase(url: string, name: string): string {
  const next = new URL(url);
  next.pathname = `/${name}`;
  return next.toString();
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const databaseUrl = env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/stratum_bench';
  const connections = integer(env, 'BENCH_CONNECTIONS', 50, 1, 10_000);
  const poolerUrl = env.BENCH_DB_POOLER_URL || undefined;
  const replicaUrls = env.BENCH_DATABASE_REPLICA_URLS || undefined;
  return {
    databaseUrl,
    ...(poolerUrl ? { poolerUrl } : {}),
    ...(replicaUrls ? { replicaUrls } : {}),
    redisUrl: env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
    users: integer(env, 'BENCH_USERS', 100_000, 1, 10_000_000),
    connections,
    durationS: integer(env, 'BENCH_DURATION_S', 10, 1, 3_600),
    warmupS: integer(env, 'BENCH_WARMUP_S', 3, 0, 600),
    rounds: integer(env, 'BENCH_ROUNDS', 3, 1, 20),
    only: (env.BENCH_SCENARIOS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    pgbench: {
      databaseUrl:
        env.BENCH_PGBENCH_DATABASE_URL || siblingDatabase(databaseUrl, 'stratum_pgbench'),
      scale: integer(env, 'BENCH_PGBENCH_SCALE', 50, 1, 10_000),
      // As many clients as the API load has connections: the same offered concurrency.
      clients: integer(env, 'BENCH_PGBENCH_CLIENTS', connections, 1, 1_000),
    },
  };
}

/** A URL fit for a log or a results file. */
export function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
