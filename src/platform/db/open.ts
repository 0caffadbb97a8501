import type { Config } from '../../config.js';
import type { DatabaseHandle } from './database.js';
import { createPostgres } from './postgres.js';

type DatabaseConfig = Pick<
  Config,
  | 'databaseUrl'
  | 'dataDir'
  | 'pgliteSharedBuffersMb'
  | 'dbPoolMax'
  | 'dbIdleTimeoutMs'
  | 'dbConnectTimeoutMs'
  | 'dbStatementTimeoutMs'
  | 'dbLockTimeoutMs'
>;

/** PostgreSQL at DATABASE_URL, else the embedded database under DATA_DIR. */
export async function openDatabase(config: DatabaseConfig): Promise<DatabaseHandle> {
  if (!config.databaseUrl) {
    // Loaded only here: PGlite's JavaScript (its source text and compiled code: about 1 MB of
    // heap, 3.5 MB resident) would otherwise sit in every process on a PostgreSQL server.
    const { createPglite } = await import('./pglite.js');
    return createPglite(`${config.dataDir}/pglite`, {
      sharedBuffersMb: config.pgliteSharedBuffersMb,
    });
  }
  return createPostgres({
    url: config.databaseUrl,
    poolMax: config.dbPoolMax,
    idleTimeoutMs: config.dbIdleTimeoutMs,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    lockTimeoutMs: config.dbLockTimeoutMs,
  });
}
