import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Database, DatabaseHandle } from '../../src/platform/db/database.js';
import { migrate, readMigrations, type Migration } from '../../src/platform/db/migrate.js';
import { createPostgres } from '../../src/platform/db/postgres.js';
import { engines, postgresSkip } from '../helpers/databases.js';
import { createScratchDatabase } from './support/scratch-database.js';

async function recordedVersions(db: Database): Promise<string[]> {
  const rows = await db
    .selectFrom('schema_migrations')
    .select('version')
    .orderBy('version')
    .execute();
  return rows.map((r) => r.version);
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
      await assert.rejects(migrate(database.db, [...shipped, broken]), { code: '22012' });
      assert.equal(await tableExists(database.db, 'migrate_broken'), false);
      assert.ok(!(await recordedVersions(database.db)).includes('9002'));
    });
  });
}

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
