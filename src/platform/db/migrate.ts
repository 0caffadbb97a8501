import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Database } from './database.js';
import { withTransaction } from './transaction.js';

/** migrations/ at the project root; the same depth from src/ and dist/. */
export const migrationsDir = fileURLToPath(new URL('../../../migrations/', import.meta.url));

// Any fixed number works: it only has to be the same in every process that migrates.
const MIGRATION_LOCK_ID = 74_031_337;

/** The file names the runner reads: `NNNN_name.sql`. */
export const MIGRATION_FILE = /^(\d+)_([\w-]+)\.sql$/;

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

/**
 * sha256 of a migration's text with its line endings made `\n`: a checkout that turns them into
 * CRLF (git's autocrlf on Windows) is the same migration; any other change is an edit.
 */
export function migrationChecksum(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n?/g, '\n')).digest('hex');
}

/** Two files with one number: the runner would apply the first and skip the other for good. */
/** Migrating behind a transaction pooler without the database's own address. */
export class MigrationThroughPoolerError extends Error {
  override readonly name = 'MigrationThroughPoolerError';

  constructor() {
    super(
      'migrations must not run through the pooler (DB_POOLER=transaction): set DATABASE_DIRECT_URL to the database itself, not the pooler',
    );
  }
}

export class DuplicateMigrationVersionError extends Error {
  override readonly name = 'DuplicateMigrationVersionError';

  constructor(readonly files: string[]) {
    super(
      `migrations ${files.join(' and ')} have the same number: renumber the one not yet ` +
        `released (\`npm run db:new -- <name>\` gives the next free number)`,
    );
  }
}

export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
  const migrations = await Promise.all(
    files.map(async (file) => {
      const [, version, name] = MIGRATION_FILE.exec(file)!;
      return {
        version: version!,
        name: name!,
        sql: await fs.readFile(`${dir}/${file}`, 'utf8'),
      };
    }),
  );
  for (let i = 1; i < migrations.length; i++) {
    const [before, now] = [migrations[i - 1]!, migrations[i]!];
    if (before.version === now.version) {
      throw new DuplicateMigrationVersionError([label(before), label(now)]);
    }
  }
  return migrations;
}

const label = (m: { version: string; name: string }) => `${m.version}_${m.name}`;

/** Thrown at start-up when migrations are not applied and the process may not apply them. */
export class DatabaseNotMigratedError extends Error {
  override readonly name = 'DatabaseNotMigratedError';

  constructor(readonly pending: string[]) {
    super(`the database is not migrated: ${pending.length} pending, from ${pending[0]}`);
  }
}

export interface EditedMigration {
  migration: string;
  /** The checksum recorded when it was applied, and the file's now. */
  recorded: string;
  current: string;
}

/**
 * An applied migration whose file changed since: the databases migrated before the change have
 * the old text, the ones migrated after it the new, and no runner can tell them apart any more.
 */
export class MigrationEditedError extends Error {
  override readonly name = 'MigrationEditedError';

  constructor(readonly edited: EditedMigration[]) {
    const [first] = edited;
    super(
      edited.length === 1
        ? `migration ${first!.migration} was edited after it was applied: ` +
            `migrations/${first!.migration}.sql no longer has the checksum recorded when it was ` +
            `applied (${first!.recorded.slice(0, 12)}, now ${first!.current.slice(0, 12)}); ` +
            `restore the file and add a new migration instead`
        : `migrations ${edited.map((e) => e.migration).join(', ')} were edited after they were ` +
            `applied: their files no longer have the checksums recorded when they were applied; ` +
            `restore the files and add a new migration instead`,
    );
  }
}

/**
 * A pending migration with no statements (a file fresh from `npm run db:new`): applied, it would
 * be recorded with the checksum of its empty text, and writing it afterwards would be an edit.
 */
export class EmptyMigrationError extends Error {
  override readonly name = 'EmptyMigrationError';

  constructor(readonly migration: string) {
    super(
      `migration ${migration} has no statements yet: write it (or delete the file) before ` +
        `migrating, or it would be recorded as applied while empty`,
    );
  }
}

/** Whether a migration's text is only comments and white space. */
function isEmpty(text: string): boolean {
  return (
    text
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/--.*$/gm, '')
      .trim() === ''
  );
}

export type MigrationState =
  /** Recorded in schema_migrations, and its file is unchanged (or has no checksum yet). */
  | 'applied'
  | 'pending'
  /** Recorded, but its file no longer has the recorded checksum. */
  | 'edited'
  /** Recorded, but no file has its number: a newer release applied it, or a file was deleted. */
  | 'unknown';

export interface MigrationStatus {
  version: string;
  /** `version_name`: the file's, or the recorded one for an unknown migration. */
  migration: string;
  state: MigrationState;
  appliedAt?: Date;
  /** The checksum recorded when it was applied; null for the ones applied before checksums. */
  recordedChecksum?: string | null;
  /** The file's checksum now; undefined for an unknown migration. */
  fileChecksum?: string;
}

interface AppliedRow {
  version: string;
  name: string;
  applied_at: Date | string;
  /** Absent before migration 0018 added the column, null in the rows it found. */
  checksum?: string | null;
}

/**
 * Every migration, in order: each file, applied or pending, and each recorded version with no
 * file. Two reads, no lock; reading the files' checksums costs microseconds.
 */
export async function migrationStatus(
  db: Database,
  migrations?: Migration[],
): Promise<MigrationStatus[]> {
  const all = migrations ?? (await readMigrations());
  const table = await sql<{
    name: string | null;
  }>`select to_regclass('schema_migrations')::text as name`.execute(db);
  // `*`: the checksum column exists only from migration 0018 on.
  const rows = table.rows[0]?.name
    ? (await sql<AppliedRow>`select * from schema_migrations`.execute(db)).rows
    : [];
  const applied = new Map(rows.map((r) => [r.version, r]));
  const files = new Set(all.map((m) => m.version));
  const statuses: MigrationStatus[] = all.map((m) => {
    const fileChecksum = migrationChecksum(m.sql);
    const row = applied.get(m.version);
    if (!row) return { version: m.version, migration: label(m), state: 'pending', fileChecksum };
    const recordedChecksum = row.checksum ?? null;
    const edited = recordedChecksum !== null && recordedChecksum !== fileChecksum;
    return {
      version: m.version,
      migration: label(m),
      state: edited ? 'edited' : 'applied',
      appliedAt: new Date(row.applied_at),
      recordedChecksum,
      fileChecksum,
    };
  });
  for (const row of rows) {
    if (files.has(row.version)) continue;
    statuses.push({
      version: row.version,
      migration: label(row),
      state: 'unknown',
      appliedAt: new Date(row.applied_at),
      recordedChecksum: row.checksum ?? null,
    });
  }
  return statuses.sort((a, b) => a.version.localeCompare(b.version));
}

/**
 * The migrations not recorded in schema_migrations, as `version_name`; all of them when the
 * table is missing.
 */
export async function pendingMigrations(db: Database, migrations?: Migration[]) {
  return (await migrationStatus(db, migrations))
    .filter((s) => s.state === 'pending')
    .map((s) => s.migration);
}

export interface MigrateOptions {
  /**
   * Where the line about unknown migrations goes (recorded in the database, no file here);
   * stderr by default.
   */
  warn?: (line: string) => void;
}

const warnOnStderr = (line: string) => void process.stderr.write(`${line}\n`);

/**
 * An edited migration refuses; an unknown one only warns. Unknown is what a rollback looks
 * like (the previous release started on a database the new one migrated) and what an old
 * process sees during a rolling deploy: the migrations are additive so that both keep working,
 * and refusing would turn every rollback into an outage.
 */
function check(statuses: MigrationStatus[], options: MigrateOptions) {
  const edited = statuses.filter((s) => s.state === 'edited');
  if (edited.length > 0) {
    throw new MigrationEditedError(
      edited.map((s) => ({
        migration: s.migration,
        recorded: s.recordedChecksum!,
        current: s.fileChecksum!,
      })),
    );
  }
  const unknown = statuses.filter((s) => s.state === 'unknown').map((s) => s.migration);
  if (unknown.length > 0) {
    const count = unknown.length === 1 ? 'a migration' : `${unknown.length} migrations`;
    (options.warn ?? warnOnStderr)(
      `warning: the database has ${count} this code does not have (${unknown.join(', ')}): ` +
        `a newer release applied ${unknown.length === 1 ? 'it' : 'them'}, or a migration ` +
        `file was deleted; see \`npm run db:status\``,
    );
  }
}

/**
 * Refuses a database whose schema is behind this code (its queries would fail one by one) or
 * whose applied migrations were edited since (its schema is not the one the files describe).
 */
export async function assertMigrated(
  db: Database,
  migrations?: Migration[],
  options: MigrateOptions = {},
): Promise<void> {
  const statuses = await migrationStatus(db, migrations);
  check(statuses, options);
  const pending = statuses.filter((s) => s.state === 'pending').map((s) => s.migration);
  if (pending.length > 0) throw new DatabaseNotMigratedError(pending);
}

/** Whether schema_migrations has the checksum column yet (migration 0018 adds it). */
async function hasChecksumColumn(db: Database): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select exists (
    select 1 from pg_attribute
    where attrelid = to_regclass('schema_migrations') and attname = 'checksum' and not attisdropped
  ) as found`.execute(db);
  return rows[0]?.found === true;
}

/**
 * Applies the migrations not yet recorded in schema_migrations, each in its own transaction,
 * recording each one's checksum. An advisory lock makes concurrent starts (several API
 * processes) apply each one once. Refuses, before applying anything, when an applied migration
 * was edited (MigrationEditedError).
 */
export async function migrate(
  db: Database,
  migrations?: Migration[],
  options: MigrateOptions = {},
): Promise<string[]> {
  const all = migrations ?? (await readMigrations());
  const statuses = await migrationStatus(db, all);
  check(statuses, options);
  const unverified = statuses.filter((s) => s.state === 'applied' && s.recordedChecksum === null);
  const pending = statuses.filter((s) => s.state === 'pending');
  // The usual start has nothing to apply: one read instead of a locked transaction per file.
  if (pending.length === 0 && unverified.length === 0) return [];
  const empty = all.find((m) => pending.some((s) => s.version === m.version) && isEmpty(m.sql));
  if (empty) throw new EmptyMigrationError(label(empty));
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
      // Asked after the migration ran: the one that adds the column records its own checksum.
      const checksum = (await hasChecksumColumn(tx))
        ? { checksum: migrationChecksum(migration.sql) }
        : {};
      await tx
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name, ...checksum })
        .execute();
      return true;
    });
    if (done) applied.push(label(migration));
  }
  await recordMissingChecksums(db, all);
  return applied;
}

/**
 * The migrations applied before checksums were recorded get their files' checksums now: those
 * files are the released contents, and from here on an edit of them is seen.
 */
async function recordMissingChecksums(db: Database, migrations: Migration[]) {
  await withTransaction(db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`.execute(tx);
    if (!(await hasChecksumColumn(tx))) return;
    const missing = await tx
      .selectFrom('schema_migrations')
      .select('version')
      .where('checksum', 'is', null)
      .execute();
    const byVersion = new Map(migrations.map((m) => [m.version, m]));
    for (const { version } of missing) {
      const migration = byVersion.get(version);
      if (!migration) continue;
      await tx
        .updateTable('schema_migrations')
        .set({ checksum: migrationChecksum(migration.sql) })
        .where('version', '=', version)
        .where('checksum', 'is', null)
        .execute();
    }
  });
}
