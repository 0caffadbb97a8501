import { sql } from 'kysely';
import pg from 'pg';
import { progressBar } from '../../src/cli/progress-bar.js';
import { seedUsers } from '../../src/cli/seed-users.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { createPostgres } from '../../src/platform/db/postgres.js';

/** The benchmark's PostgreSQL database: created when missing, migrated, seeded to size. */

const MAINTENANCE_DATABASES = ['postgres', 'test'];
const INVALID_CATALOG_NAME = '3D000';

function withDatabase(url: string, database: string): string {
  const next = new URL(url);
  next.pathname = `/${encodeURIComponent(database)}`;
  return next.toString();
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === INVALID_CATALOG_NAME) return false;
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

async function createDatabase(url: string, name: string) {
  let lastError: unknown;
  for (const maintenance of MAINTENANCE_DATABASES) {
    const client = new pg.Client({ connectionString: withDatabase(url, maintenance) });
    try {
      await client.connect();
      await client.query(`create database ${client.escapeIdentifier(name)}`);
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw new Error(`could not create database ${name}: ${(lastError as Error).message}`);
}

export async function ensureDatabase(url: string): Promise<void> {
  if (await canConnect(url)) return;
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  process.stderr.write(`creating database ${name}\n`);
  await createDatabase(url, name);
}

export function openDatabase(url: string): DatabaseHandle {
  return createPostgres({
    url,
    poolMax: 4,
    idleTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    statementTimeoutMs: 0,
  });
}

async function countUsers(handle: DatabaseHandle): Promise<number> {
  const row = await handle.db
    .selectFrom('users')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
}

/** Migrates and tops the users table up to `users` rows; returns how many were inserted. */
export async function prepareDatabase(handle: DatabaseHandle, users: number): Promise<number> {
  await migrate(handle.db);
  const missing = users - (await countUsers(handle));
  if (missing <= 0) return 0;
  const bar = progressBar(missing, 'seeding users');
  bar.update(0);
  const inserted = await seedUsers(handle.db, missing, {
    onProgress: ({ done }) => bar.update(done),
  });
  bar.finish();
  // Fresh rows carry no hint bits or statistics yet; the first timed reads should not pay for it.
  await sql`vacuum analyze users`.execute(handle.db);
  return inserted;
}

export async function serverVersion(handle: DatabaseHandle): Promise<string> {
  const { rows } = await sql<{ version: string }>`select version()`.execute(handle.db);
  return rows[0]?.version ?? 'unknown';
}
