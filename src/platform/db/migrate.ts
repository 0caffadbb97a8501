import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Database } from './database.js';
import { withTransaction } from './transaction.js';

/** migrations/ at the project root; the same depth from src/ and dist/. */
export const migrationsDir = fileURLToPath(new URL('../../../migrations/', import.meta.url));

// Any fixed number works: it only has to be the same in every process that migrates.
const MIGRATION_LOCK_ID = 74_031_337;

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const [version, ...rest] = file.replace(/\.sql$/, '').split('_');
      return {
        version: version!,
        name: rest.join('_'),
        sql: await fs.readFile(`${dir}/${file}`, 'utf8'),
      };
    }),
  );
}

/** Thrown at start-up when migrations are not applied and the process may not apply them. */
export class DatabaseNotMigratedError extends Error {
  override readonly name = 'DatabaseNotMigratedError';

  constructor(readonly pending: string[]) {
    super(`the database is not migrated: ${pending.length} pending, from ${pending[0]}`);
  }
}

/**
 * The migrations not recorded in schema_migrations, as `version_name`; all of them when the
 * table is missing. One read, no lock: a start with nothing to do costs one query.
 */
export async function pendingMigrations(db: Database, migrations?: Migration[]) {
  const all = migrations ?? (await readMigrations());
  const table = await sql<{
    name: string | null;
  }>`select to_regclass('schema_migrations')::text as name`.execute(db);
  const applied = table.rows[0]?.name
    ? new Set(
        (await db.selectFrom('schema_migrations').select('version').execute()).map(
          (r) => r.version,
        ),
      )
    : new Set<string>();
  return all.filter((m) => !applied.has(m.version)).map((m) => `${m.version}_${m.name}`);
}

/** Refuses a database whose schema is behind this code: its queries would fail one by one. */
export async function assertMigrated(db: Database, migrations?: Migration[]): Promise<void> {
  const pending = await pendingMigrations(db, migrations);
  if (pending.length > 0) throw new DatabaseNotMigratedError(pending);
}

/**
 * Applies the migrations not yet recorded in schema_migrations, each in its own transaction.
 * An advisory lock makes concurrent starts (several API processes) apply each one once.
 */
export async function migrate(db: Database, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await readMigrations());
  // The usual start has nothing to apply: one read instead of a locked transaction per file.
  if ((await pendingMigrations(db, all)).length === 0) return [];
  // Under the lock too: two concurrent `create table if not exists` can both try to create it.
  await withTransaction(db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`.execute(tx);
    await sql`create table if not exists schema_migrations (
      version text primary key,
      name text not null,
      applied_at timestamptz not null default now()
    )`.execute(tx);
  });
  const applied: string[] = [];
  for (const migration of all) {
    const done = await withTransaction(db, async (tx) => {
      await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`.execute(tx);
      const existing = await tx
        .selectFrom('schema_migrations')
        .select('version')
        .where('version', '=', migration.version)
        .executeTakeFirst();
      if (existing) return false;
      await sql.raw(migration.sql).execute(tx);
      await tx
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name })
        .execute();
      return true;
    });
    if (done) applied.push(`${migration.version}_${migration.name}`);
  }
  return applied;
}
