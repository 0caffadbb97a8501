import { loadDotEnv } from '../env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import fs from 'node:fs';
import path from 'node:path';
import { closeDependencies, createDependencies } from '../composition/dependencies.js';
import { loadConfigOrExit, withoutRedis } from '../config.js';
import { hostAndPath } from '../platform/banner.js';
import { migrationChecksum, migrationStatus, readMigrations } from '../platform/db/migrate.js';
import { statusReport } from '../platform/db/migration-status.js';
import { exitOnStartupError } from '../platform/startup-errors.js';

/**
 * `npm run db:status`: every migration, applied (when) or pending, and the edited ones; exits 1
 * when one is pending or edited, so a deploy script can stop on it. Reads only: it never
 * migrates, and never creates the embedded database.
 */
const config = loadConfigOrExit();
const fail = exitOnStartupError({ connectTimeoutMs: config.dbConnectTimeoutMs });
const migrations = await readMigrations().catch(fail);
const embeddedDir = path.join(config.dataDir, 'pglite');
const relative = path.relative(process.cwd(), embeddedDir);
const shownDir = relative && !relative.startsWith('..') ? relative : embeddedDir;

if (!config.databaseUrl && !fs.existsSync(embeddedDir)) {
  // Opening it would create it: report what a first start would apply instead.
  process.stdout.write(`database: none yet in ${shownDir}\n\n`);
  const statuses = migrations.map((m) => ({
    version: m.version,
    migration: `${m.version}_${m.name}`,
    state: 'pending' as const,
    fileChecksum: migrationChecksum(m.sql),
  }));
  process.stdout.write(statusReport(statuses).text);
  process.exit(1);
}

// The embedded database has one owner: while the server runs on it, this stops with one line.
const deps = await createDependencies(
  { ...withoutRedis(config), migrateOnStart: false },
  { requireMigrated: false },
).catch(fail);
try {
  const where = config.databaseUrl
    ? `PostgreSQL at ${hostAndPath(config.databaseUrl)}`
    : `embedded, in ${shownDir}`;
  const report = statusReport(await migrationStatus(deps.database.db, migrations));
  process.stdout.write(`database: ${where}\n\n${report.text}`);
  if (!report.ok) process.exitCode = 1;
} finally {
  await closeDependencies(deps);
}
