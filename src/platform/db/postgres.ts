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
  /**
   * transaction: `url` is a pooler handing out a server connection per transaction (PgBouncer in
   * transaction mode). Then nothing is tied to a connection: no named prepared statement and no
   * start-up parameter; the timeouts and `jit` come from the role's or database's settings.
   */
  pooler?: 'none' | 'transaction';
}

/** JIT off unless the URL's own `options` say otherwise (docs/decisions/0004-postgres-jit-off.md). */
const JIT_OFF = '-c jit=off';

export function createPostgres(options: PostgresOptions): DatabaseHandle {
  const pooled = options.pooler === 'transaction';
  const pool = new pg.Pool({
    // PgBouncer 1.18 refuses a start-up parameter it does not know (08P01): behind it, the
    // connection carries only what the URL says.
    connectionString: pooled ? options.url : withOptions(options.url, JIT_OFF),
    max: options.poolMax,
    idleTimeoutMillis: options.idleTimeoutMs,
    connectionTimeoutMillis: options.connectTimeoutMs,
    // A runaway query must not hold a pooled connection forever.
    statement_timeout: (!pooled && options.statementTimeoutMs) || undefined,
    // A request waiting on a row lock (a hot account, a duplicate idempotent request) gives up
    // with 55P03 instead of holding its connection for as long as the holder takes.
    lock_timeout: (!pooled && options.lockTimeoutMs) || undefined,
    // PgBouncer knows this one and passes it on.
    application_name: 'stratum',
  });
  // An idle client losing its server emits here; without a listener it would crash the process.
  pool.on('error', () => {});
  // A checked-out client losing its server (PostgreSQL restarted mid-request) emits 'error' on
  // itself, where the pool listens only while it is idle: unheard, that crashed the process.
  // Its queries fail anyway (503), and on release the pool drops it as no longer queryable.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    // Behind a transaction pooler the next statement may reach a server connection that never
    // saw the PARSE: the marked texts go unnamed there, parsed on every call.
    if (!pooled) prepareMarkedStatements(client);
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
 * The URL with `extra` put before its own `options` (`-c name=value …`): pg lets the URL's
 * `options` replace the pool's, and the later `-c` of a name wins, so the URL's settings stay
 * and keep the last word.
 */
export function withOptions(url: string, extra: string): string {
  const parsed = new URL(url);
  const own = parsed.searchParams.get('options');
  parsed.searchParams.set('options', own ? `${extra} ${own}` : extra);
  return parsed.toString();
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
