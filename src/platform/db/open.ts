import type { Config } from '../../config.js';
import { reach } from '../startup-errors.js';
import type { Database, DatabaseHandle } from './database.js';
import { MigrationThroughPoolerError } from './migrate.js';
import type { Replica } from './replicas.js';
import { hostAndPath } from '../banner.js';
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
  | 'dbPooler'
>;

/** A pool per DATABASE_REPLICA_URLS entry, with the primary's settings. */
export function openReplicas(
  config: DatabaseConfig & Pick<Config, 'databaseReplicaUrls'>,
): Replica[] {
  return config.databaseReplicaUrls.map((url) => ({
    name: hostAndPath(url),
    handle: createPostgres({
      url,
      poolMax: config.dbPoolMax,
      idleTimeoutMs: config.dbIdleTimeoutMs,
      connectTimeoutMs: config.dbConnectTimeoutMs,
      statementTimeoutMs: config.dbStatementTimeoutMs,
      lockTimeoutMs: config.dbLockTimeoutMs,
      pooler: config.dbPooler,
    }),
  }));
}

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
    pooler: config.dbPooler,
  });
}

/**
 * Runs fn (the migration runner) on the database itself: DATABASE_DIRECT_URL when set, else the
 * service's own connection unless that is a transaction pooler. A migration's DDL and lock must
 * not be spread over server connections a pooler picks, nor wait behind its queue.
 */
export async function onMigrationDatabase<T>(
  config: DatabaseConfig & Pick<Config, 'databaseDirectUrl'>,
  database: DatabaseHandle,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  if (!config.databaseDirectUrl) {
    if (config.dbPooler === 'transaction') throw new MigrationThroughPoolerError();
    return fn(database.db);
  }
  const direct = createPostgres({
    url: config.databaseDirectUrl,
    poolMax: 1,
    idleTimeoutMs: config.dbIdleTimeoutMs,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    lockTimeoutMs: config.dbLockTimeoutMs,
  });
  try {
    await reach('DATABASE_DIRECT_URL', config.databaseDirectUrl, () => direct.ping());
    return await fn(direct.db);
  } finally {
    await direct.close();
  }
}
