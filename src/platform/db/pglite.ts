import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

export interface PgliteSettings {
  /**
   * PostgreSQL's buffer cache inside PGlite's WebAssembly memory, which never shrinks: every
   * page it has held stays resident. The files are read through the system's page cache, so a
   * small one costs a copy on a miss. PGLITE_SHARED_BUFFERS_MB.
   */
  sharedBuffersMb: number;
}

export const DEFAULT_PGLITE_SETTINGS: PgliteSettings = { sharedBuffersMb: 16 };

/** PGlite's own start parameters (single user, no parallel workers...), then ours. */
function startParams(settings: PgliteSettings): string[] {
  return [...PGlite.defaultStartParams, '-c', `shared_buffers=${settings.sharedBuffersMb}MB`];
}

/** The folder holds a database once initdb has written its version file. */
const hasDatabase = (dataDir: string) => fs.existsSync(path.join(dataDir, 'PG_VERSION'));

/**
 * Creates the database in dataDir in a child process (pglite-create.ts), so that its
 * creation's memory (hundreds of MB, held until a garbage collection, and the allocator's
 * fragments after it) leaves with that process. The child runs under the same Node options
 * (tsx in the tests) and under the lock the caller holds.
 */
async function createInChildProcess(dataDir: string, params: string[]): Promise<void> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const script = fileURLToPath(new URL(`./pglite-create.${ext}`, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script, dataDir, ...params], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal ? -1 : null)));
  });
  if (code !== 0) {
    throw new Error(
      `Creating the embedded database in ${dataDir} failed (exit ${code}):\n${stderr}`,
    );
  }
}

/**
 * Embedded PostgreSQL: files under dataDir, or in memory when dataDir is undefined. A folder has
 * one owner: PGlite is single-process, and a second process opening the same files loses its
 * writes (or the first one's) without an error, so it is refused (EmbeddedDatabaseInUseError).
 * An empty folder gets its database from a child process first (createInChildProcess).
 */
export async function createPglite(
  dataDir?: string,
  settings: PgliteSettings = DEFAULT_PGLITE_SETTINGS,
): Promise<DatabaseHandle> {
  const params = startParams(settings);
  if (!dataDir) return pgliteHandle(await PGlite.create({ startParams: params }));
  const lock = acquireEmbeddedLock(dataDir);
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    if (!hasDatabase(dataDir)) await createInChildProcess(dataDir, params);
    const handle = pgliteHandle(await PGlite.create(dataDir, { startParams: params }));
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
