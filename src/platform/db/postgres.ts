import { Kysely, PostgresDialect, sql } from 'kysely';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PREPARED, type DatabaseHandle } from './database.js';
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
  pool.on('connect', (client) => {
    client.on('error', () => {});
    prepareMarkedStatements(client);
  });
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

/**
 * Sends a text marked PREPARED under a name, a hash of the text (so another text is another
 * statement): pg then parses it once per connection.
 */
function prepareMarkedStatements(client: pg.PoolClient) {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const names = new Map<string, string>();
  // Why the cast: pg's query has a dozen overloads; this wrapper forwards all of them unchanged
  // except (text, values) for a marked text.
  (client as { query: unknown }).query = (text: unknown, ...rest: unknown[]) => {
    if (typeof text !== 'string' || !text.startsWith(PREPARED) || !Array.isArray(rest[0])) {
      return query(text, ...rest);
    }
    let name = names.get(text);
    if (!name) {
      name = `stratum_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, name);
    }
    return query({ name, text, values: rest[0] }, ...rest.slice(1));
  };
}
