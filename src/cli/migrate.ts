import { loadDotEnv } from '../env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import { closeDependencies, createDependencies } from '../app.js';
import { loadConfigOrExit } from '../config.js';
import { exitIfEmbeddedDatabaseInUse } from '../platform/db/embedded-lock.js';
import { migrate } from '../platform/db/migrate.js';

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database). */
const config = loadConfigOrExit();
const deps = await createDependencies({
  ...config,
  migrateOnStart: false,
  redisUrl: undefined,
}).catch(exitIfEmbeddedDatabaseInUse);
try {
  const applied = await migrate(deps.database.db);
  process.stdout.write(
    applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n',
  );
} finally {
  await closeDependencies(deps);
}
