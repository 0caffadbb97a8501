import fs from 'node:fs';
import { PGlite, type Results } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type { DatabaseHandle } from './database.js';
import { acquireEmbeddedLock } from './embedded-lock.js';
import type { DB } from './schema.js';

/**
 * PGlite is one connection, so this pool hands it out to one caller at a time: a transaction
 * holds it from BEGIN to COMMIT and every other query waits its turn, as with a pool of size 1.
 */
class PgliteSingleConnectionPool implements PostgresPool {
  private queue: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly pglite: PGlite) {}

  get waitingCount() {
    return this.waiting;
  }

  async connect(): Promise<PostgresPoolClient> {
    let release!: () => void;
    const previous = this.queue;
    this.queue = new Promise<void>((resolve) => (release = resolve));
    this.waiting++;
    await previous;
    this.waiting--;
    const pglite = this.pglite;
    return {
      // Kysely's PostgresPoolClient has an overload for cursors that this pool does not offer.
      query: (async (text: string, params: readonly unknown[]) => {
        // Statements without parameters may hold several commands (migrations): use exec.
        const result: Results =
          params.length === 0
            ? ((await pglite.exec(text)).at(-1) ?? { rows: [], fields: [] })
            : await pglite.query(text, [...params]);
        const command = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'SELECT';
        return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
      }) as PostgresPoolClient['query'],
      release: () => release(),
    };
  }

  async end() {
    await this.pglite.close();
  }
}

/**
 * Embedded PostgreSQL: files under dataDir, or in memory when dataDir is undefined. A folder has
 * one owner: PGlite is single-process, and a second process opening the same files loses its
 * writes (or the first one's) without an error, so it is refused (EmbeddedDatabaseInUseError).
 */
export async function createPglite(dataDir?: string): Promise<DatabaseHandle> {
  if (!dataDir) return pgliteHandle(await PGlite.create());
  const lock = acquireEmbeddedLock(dataDir);
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    const handle = pgliteHandle(await PGlite.create(dataDir));
    return {
      ...handle,
      async close() {
        try {
          await handle.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

export function pgliteHandle(pglite: PGlite): DatabaseHandle {
  const pool = new PgliteSingleConnectionPool(pglite);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    engine: 'pglite',
    async ping() {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({
      total: 1,
      idle: pool.waitingCount === 0 ? 1 : 0,
      waiting: pool.waitingCount,
    }),
    async close() {
      await db.destroy();
      // Kysely's destroy is a no-op until a first query has run; PGlite must close regardless.
      if (!pglite.closed) await pglite.close();
    },
  };
}
