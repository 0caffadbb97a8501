import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Database, DatabaseHandle } from '../../src/platform/db/database.js';
import {
  assertMigrated,
  DatabaseNotMigratedError,
  DuplicateMigrationVersionError,
  EmptyMigrationError,
  migrate,
  migrationChecksum,
  MigrationEditedError,
  migrationStatus,
  readMigrations,
  type Migration,
} from '../../src/platform/db/migrate.js';
import { createPostgres } from '../../src/platform/db/postgres.js';
import { engines, postgresSkip } from '../support/databases.js';
import { createScratchDatabase } from '../support/scratch-database.js';

async function recordedVersions(db: Database): Promise<string[]> {
  const rows = await db
    .selectFrom('schema_migrations')
    .select('version')
    .orderBy('version')
    .execute();
  return rows.map((r) => r.version);
}

async function recordedChecksums(db: Database): Promise<Map<string, string | null>> {
  const rows = await db.selectFrom('schema_migrations').select(['version', 'checksum']).execute();
  return new Map(rows.map((r) => [r.version, r.checksum]));
}

/** The warnings a call printed, instead of stderr. */
function warnings() {
  const lines: string[] = [];
  return { lines, warn: (line: string) => void lines.push(line) };
}

async function tableExists(db: Database, name: string): Promise<boolean> {
  const { rows } = await sql<{
    found: string | null;
  }>`select to_regclass(${name}) as found`.execute(db);
  return rows[0]?.found != null;
}

for (const engine of engines) {
  describe(`migrate on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    let shipped: Migration[];
    before(async () => {
      database = await engine.open();
      shipped = await readMigrations();
    });
    after(async () => database?.close());

    it('when the database is already migrated, then migrating again applies nothing', async () => {
      assert.deepEqual(await migrate(database.db), []);
      assert.deepEqual(
        await recordedVersions(database.db),
        shipped.map((m) => m.version),
      );
    });

    it('when a new migration lands, then only it is applied, and only the first time', async () => {
      const probe = { version: '9001', name: 'probe', sql: 'create table migrate_probe (id int)' };
      assert.deepEqual(await migrate(database.db, [...shipped, probe]), ['9001_probe']);
      assert.deepEqual(await migrate(database.db, [...shipped, probe]), []);
      assert.equal(await tableExists(database.db, 'migrate_probe'), true);
    });

    it('when a migration fails halfway, then none of it stays and it is not recorded', async () => {
      const broken = {
        version: '9002',
        name: 'broken',
        sql: 'create table migrate_broken (id int); select 1 / 0;',
      };
      // 9001 (above) is recorded and not in this list: its warning is not this test's business.
      await assert.rejects(migrate(database.db, [...shipped, broken], warnings()), {
        code: '22012',
      });
      assert.equal(await tableExists(database.db, 'migrate_broken'), false);
      assert.ok(!(await recordedVersions(database.db)).includes('9002'));
    });

    it("when migrated, then each migration has its file's checksum recorded", async () => {
      const recorded = await recordedChecksums(database.db);
      for (const m of shipped) assert.equal(recorded.get(m.version), migrationChecksum(m.sql));
    });

    it("when an applied migration's file is edited, then migrate and the start-up check refuse, naming it, and apply nothing", async () => {
      const edited = shipped.map((m) =>
        m.version === '0007' ? { ...m, sql: `${m.sql}\nALTER TABLE users ADD COLUMN x int;` } : m,
      );
      const probe = {
        version: '9003',
        name: 'after_edit',
        sql: 'create table migrate_after (id int)',
      };
      const line =
        /^migration 0007_idempotency was edited after it was applied: migrations\/0007_idempotency\.sql no longer has the checksum recorded when it was applied \([0-9a-f]{12}, now [0-9a-f]{12}\); restore the file and add a new migration instead$/;
      const quiet = warnings();
      await assert.rejects(migrate(database.db, [...edited, probe], quiet), (err: Error) => {
        assert.ok(err instanceof MigrationEditedError);
        assert.match(err.message, line);
        return true;
      });
      await assert.rejects(assertMigrated(database.db, edited, quiet), MigrationEditedError);
      assert.equal(await tableExists(database.db, 'migrate_after'), false);
      const statuses = await migrationStatus(database.db, edited);
      assert.deepEqual(
        statuses.filter((s) => s.state === 'edited').map((s) => s.migration),
        ['0007_idempotency'],
      );
    });

    it('when only the line endings differ (a CRLF checkout), then it is the same migration', async () => {
      const crlf = shipped.map((m) => ({ ...m, sql: m.sql.replace(/\n/g, '\r\n') }));
      const quiet = warnings();
      assert.deepEqual(await migrate(database.db, crlf, quiet), []);
      await assertMigrated(database.db, crlf, quiet);
    });

    it("when the database predates checksums, then the first migrate adds the column and records every file's checksum", async () => {
      await sql`delete from schema_migrations where version = '0018'`.execute(database.db);
      await sql`alter table schema_migrations drop column checksum`.execute(database.db);
      const quiet = warnings();
      // What the previous release's start-up check saw: 0018 pending, nothing edited.
      await assert.rejects(assertMigrated(database.db, shipped, quiet), DatabaseNotMigratedError);
      assert.deepEqual(await migrate(database.db, shipped, quiet), [
        '0018_schema_migrations_checksum',
      ]);
      const recorded = await recordedChecksums(database.db);
      for (const m of shipped) assert.equal(recorded.get(m.version), migrationChecksum(m.sql));
      // Rows that lost theirs (an interrupted upgrade) get them at the next migrate.
      await sql`update schema_migrations set checksum = null`.execute(database.db);
      assert.deepEqual(await migrate(database.db, shipped, quiet), []);
      assert.equal(
        (await recordedChecksums(database.db)).get('0001'),
        migrationChecksum(shipped[0]!.sql),
      );
    });

    it('when a pending migration has no statements yet (fresh from db:new), then migrate refuses and applies nothing', async () => {
      const fresh = { version: '9005', name: 'fresh', sql: '-- What it changes.\n/* later */\n\n' };
      await assert.rejects(migrate(database.db, [...shipped, fresh], warnings()), (err: Error) => {
        assert.ok(err instanceof EmptyMigrationError);
        assert.equal(
          err.message,
          'migration 9005_fresh has no statements yet: write it (or delete the file) before migrating, or it would be recorded as applied while empty',
        );
        return true;
      });
      assert.ok(!(await recordedVersions(database.db)).includes('9005'));
    });

    it('when the database has a migration this code does not (a rollback), then it warns and still starts', async () => {
      const newer = { version: '9004', name: 'from_the_future', sql: 'select 1' };
      await migrate(database.db, [...shipped, newer], warnings());
      const seen = warnings();
      await assertMigrated(database.db, shipped, seen);
      assert.deepEqual(await migrate(database.db, shipped, seen), []);
      assert.equal(seen.lines.length, 2);
      assert.match(
        seen.lines[0]!,
        /^warning: the database has \d+ migrations this code does not have \(.*9004_from_the_future.*\): a newer release applied them, or a migration file was deleted; see `npm run db:status`$/,
      );
      const unknown = (await migrationStatus(database.db, shipped)).find(
        (s) => s.version === '9004',
      );
      assert.equal(unknown?.state, 'unknown');
    });
  });
}

describe('reading the migrations folder', () => {
  it('when two files share a number (two branches merged), then reading them refuses, naming both', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-migrations-'));
    try {
      fs.writeFileSync(path.join(dir, '0001_users.sql'), 'select 1');
      fs.writeFileSync(path.join(dir, '0002_orders.sql'), 'select 2');
      fs.writeFileSync(path.join(dir, '0002_posts.sql'), 'select 3');
      await assert.rejects(readMigrations(dir), (err: Error) => {
        assert.ok(err instanceof DuplicateMigrationVersionError);
        assert.match(err.message, /^migrations 0002_orders and 0002_posts have the same number: /);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when only the line endings differ, then the checksums are equal; any other change differs', () => {
    assert.equal(migrationChecksum('a\r\nb\rc\n'), migrationChecksum('a\nb\nc\n'));
    assert.notEqual(migrationChecksum('a\nb'), migrationChecksum('a\nb '));
  });
});

describe('migrate from several processes at once', { skip: postgresSkip }, () => {
  const poolOptions = {
    poolMax: 2,
    idleTimeoutMs: 1_000,
    connectTimeoutMs: 2_000,
    statementTimeoutMs: 0,
  };

  // Each round is a fresh database: the race is on creating the bookkeeping table itself.
  for (const round of [1, 2, 3]) {
    it(`when two migrate() calls race on a fresh database (round ${round}), then both succeed and each migration is applied once`, async () => {
      const scratch = await createScratchDatabase();
      const first = createPostgres({ ...poolOptions, url: scratch.url });
      const second = createPostgres({ ...poolOptions, url: scratch.url });
      try {
        const shipped = await readMigrations();
        const [a, b] = await Promise.all([migrate(first.db), migrate(second.db)]);
        assert.deepEqual(
          [...a, ...b].sort(),
          shipped.map((m) => `${m.version}_${m.name}`),
        );
        assert.deepEqual(
          await recordedVersions(first.db),
          shipped.map((m) => m.version),
        );
      } finally {
        await first.close();
        await second.close();
        await scratch.drop();
      }
    });
  }
});
