import { loadDotEnv } from '../env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import { closeDependencies, createDependencies } from '../composition/dependencies.js';
import { loadConfigOrExit, withoutRedis } from '../config.js';
import { migrate } from '../platform/db/migrate.js';
import { onMigrationDatabase } from '../platform/db/open.js';
import { startupMessage, exitOnStartupError } from '../platform/startup-errors.js';

/**
 * `npm run db:migrate`: applies pending migrations to DATABASE_DIRECT_URL, else DATABASE_URL (or the
 * embedded database).
 */
const config = loadConfigOrExit();
const deps = await createDependencies(
  { ...withoutRedis(config), migrateOnStart: false },
  { requireMigrated: false },
).catch(exitOnStartupError({ connectTimeoutMs: config.dbConnectTimeoutMs }));
try {
  const applied = await onMigrationDatabase(config, deps.database, (db) => migrate(db));
  process.stdout.write(
    applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n',
  );
} catch (err) {
  // An edited migration (or two with one number): one line, after the database is closed.
  const message = startupMessage(err);
  if (message === undefined) throw err;
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
} finally {
  await closeDependencies(deps);
}
