import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { acquireEmbeddedLock } from '../../src/platform/db/embedded-lock.js';
import { migrate, readMigrations, type Migration } from '../../src/platform/db/migrate.js';
import { statusReport } from '../../src/platform/db/migration-status.js';
import { createPglite } from '../../src/platform/db/pglite.js';
import { createPostgres } from '../../src/platform/db/postgres.js';
import { postgresSkip } from '../support/databases.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';
import { runEntry } from '../support/service-process.js';

const quiet = { warn: () => {} };
const status = (env: Record<string, string>) => runEntry('src/cli/db-status.ts', env);

describe('the status report', () => {
  it('when something is pending or edited, then it is not ok, and says what to do', () => {
    const appliedAt = new Date('2026-01-02T03:04:05.678Z');
    const report = statusReport([
      {
        version: '0001',
        migration: '0001_users',
        state: 'applied',
        appliedAt,
        recordedChecksum: 'a'.repeat(64),
        fileChecksum: 'a'.repeat(64),
      },
      {
        version: '0002',
        migration: '0002_auth',
        state: 'edited',
        appliedAt,
        recordedChecksum: 'b'.repeat(64),
        fileChecksum: 'c'.repeat(64),
      },
      { version: '0003', migration: '0003_posts', state: 'pending', fileChecksum: 'd'.repeat(64) },
    ]);
    assert.equal(report.ok, false);
    assert.equal(
      report.text,
      [
        '0001_users  applied 2026-01-02 03:04:05 UTC',
        '0002_auth   EDITED  applied 2026-01-02 03:04:05 UTC, its file changed since (checksum bbbbbbbbbbbb when applied, cccccccccccc now)',
        '0003_posts  pending',
        '',
        '1 applied, 1 pending, 1 edited',
        'edited: restore the files as they were applied and add a new migration instead',
        'pending: run `npm run db:migrate`',
        '',
      ].join('\n'),
    );
  });

  it('when everything is applied, then it is ok, even with a migration this code does not have', () => {
    const appliedAt = new Date('2026-01-02T03:04:05Z');
    const report = statusReport([
      {
        version: '0001',
        migration: '0001_users',
        state: 'applied',
        appliedAt,
        recordedChecksum: null,
        fileChecksum: 'a'.repeat(64),
      },
      {
        version: '0002',
        migration: '0002_next',
        state: 'unknown',
        appliedAt,
        recordedChecksum: null,
      },
    ]);
    assert.equal(report.ok, true);
    assert.match(
      report.text,
      /^0001_users {2}applied 2026-01-02 03:04:05 UTC {2}\(no checksum yet/m,
    );
    assert.match(
      report.text,
      /^0002_next {3}unknown applied 2026-01-02 03:04:05 UTC, no file in migrations\/$/m,
    );
    assert.match(report.text, /^1 applied, 0 pending, 1 unknown$/m);
  });
});

describe('npm run db:status on the embedded database', { timeout: 120_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-status-'));
  const pgliteDir = path.join(dataDir, 'pglite');
  const env = { DATA_DIR: dataDir };
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('when there is no database yet, then every migration is pending, exit 1, and none is created', async () => {
    const run = await status(env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^database: none yet in /);
    assert.match(run.stdout, /^0001_users +pending$/m);
    assert.match(run.stdout, /^0 applied, \d+ pending$/m);
    assert.equal(fs.existsSync(pgliteDir), false);
  });

  it('when it is migrated, then each migration is applied with its time, exit 0', async () => {
    const database = await createPglite(pgliteDir);
    await migrate(database.db, undefined, quiet);
    await database.close();
    const run = await status(env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^0001_users +applied \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);
    assert.match(run.stdout, /^\d+ applied, 0 pending$/m);
  });

  it('when an applied migration was edited, then it is flagged, exit 1', async () => {
    const database = await createPglite(pgliteDir);
    await sql`update schema_migrations set checksum = repeat('0', 64) where version = '0007'`.execute(
      database.db,
    );
    await database.close();
    const run = await status(env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stdout,
      /^0007_idempotency +EDITED {2}applied .*, its file changed since \(checksum 0{12} when applied, [0-9a-f]{12} now\)$/m,
    );
    assert.match(run.stdout, /^\d+ applied, 0 pending, 1 edited$/m);
  });

  it('when another process holds the database, then it stops with one line naming it', async () => {
    const lock = acquireEmbeddedLock(pgliteDir, 'npm start: the test');
    try {
      const run = await status(env);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr.trimEnd(),
        `The embedded database in ${pgliteDir} is in use by process ${process.pid} (npm start: the test). Stop that process first, or make the change through its API: PGlite allows one process at a time.`,
      );
    } finally {
      lock.release();
    }
  });
});

describe('npm run db:status on PostgreSQL', { skip: postgresSkip, timeout: 120_000 }, () => {
  let scratch: ScratchDatabase;
  let shipped: Migration[];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-status-pg-'));
  before(async () => {
    scratch = await createScratchDatabase();
    shipped = await readMigrations();
  });
  after(async () => {
    await scratch.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the last migration is pending, then it says so, exit 1; once applied, exit 0', async () => {
    const database = createPostgres({
      url: scratch.url,
      poolMax: 1,
      idleTimeoutMs: 1_000,
      connectTimeoutMs: 5_000,
      statementTimeoutMs: 0,
    });
    try {
      await migrate(database.db, shipped.slice(0, -1), quiet);
      const env = { DATA_DIR: dataDir, DATABASE_URL: scratch.url };
      const behind = await status(env);
      assert.equal(behind.code, 1, behind.stderr);
      assert.match(behind.stdout, /^database: PostgreSQL at 127\.0\.0\.1:5432\/stratum_p_\w+$/m);
      const last = shipped.at(-1)!;
      assert.match(behind.stdout, new RegExp(`^${last.version}_${last.name} +pending$`, 'm'));
      assert.match(behind.stdout, /^pending: run `npm run db:migrate`$/m);
      await migrate(database.db, shipped, quiet);
      const current = await status(env);
      assert.equal(current.code, 0, current.stderr);
      assert.match(current.stdout, new RegExp(`^${shipped.length} applied, 0 pending$`, 'm'));
    } finally {
      await database.close();
    }
  });
});
