import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DatabaseHandle } from './database.js';
import type { DB } from './schema.js';

export interface PostgresOptions {
  url: string;
  poolMax: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** The longest a statement waits for a lock; 0 = no limit. */
  lockTimeoutMs?: number;
}

export function createPostgres(options: PostgresOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    idleTimeoutMillis: options.idleTimeoutMs,
    connectionTimeoutMillis: options.connectTimeoutMs,
    // A runaway query must not hold a pooled connection forever.
    statement_timeout: options.statementTimeoutMs || undefined,
    // A request waiting on a row lock (a hot account, a duplicate idempotent request) gives up
    // with 55P03 instead of holding its connection for as long as the holder takes.
    lock_timeout: options.lockTimeoutMs || undefined,
    application_name: 'stratum',
    // JIT compiling takes 20–25 ms, and PostgreSQL starts it on the plan's cost estimate: a
    // search for very common words (which reads 200 rows) has a costly fallback branch it never
    // runs, and paid for compiling it. No statement of this service runs long enough to gain.
    options: '-c jit=off',
  });
  // An idle client losing its server emits here; without a listener it would crash the process.
  pool.on('error', () => {});
  // A checked-out client losing its server (PostgreSQL restarted mid-request) emits 'error' on
  // itself, where the pool listens only while it is idle: unheard, that crashed the process.
  // Its queries fail anyway (503), and on release the pool drops it as no longer queryable.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    engine: 'postgres',
    async ping() {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    }),
    async close() {
      await db.destroy();
      // Kysely's destroy is a no-op until a first query has run; the pool must end regardless.
      if (!pool.ended) await pool.end();
    },
  };
}
