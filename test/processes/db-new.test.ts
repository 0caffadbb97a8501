import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrationsDir, readMigrations } from '../../src/platform/db/migrate.js';
import { createMigration, MigrationNameError } from '../../src/platform/db/new-migration.js';
import { runEntry } from '../support/service-process.js';

describe('npm run db:new', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-new-migration-'));
    fs.writeFileSync(path.join(dir, '0001_users.sql'), 'select 1;\n');
    fs.writeFileSync(path.join(dir, '0009_orders.sql'), 'select 9;\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when the name is good, then the file gets the next number and a header, and the runner reads it', async () => {
    const file = await createMigration('orders_add_note', dir);
    assert.equal(path.basename(file), '0010_orders_add_note.sql');
    assert.match(fs.readFileSync(file, 'utf8'), /^-- What this migration changes, and why\.\n/);
    const read = await readMigrations(dir);
    assert.deepEqual(
      read.map((m) => `${m.version}_${m.name}`),
      ['0001_users', '0009_orders', '0010_orders_add_note'],
    );
  });

  it('when the name is bad or taken, then it refuses and creates nothing', async () => {
    for (const bad of ['Orders', 'add-note', '1st', 'a__b', '', 'x'.repeat(61), '../escape']) {
      await assert.rejects(createMigration(bad, dir), MigrationNameError, bad);
    }
    await assert.rejects(
      createMigration('orders', dir),
      /a migration named orders exists \(0009_orders\.sql\)/,
    );
    assert.equal(fs.readdirSync(dir).length, 3);
  });

  it('when run as a command with a bad name, then it says why, exit 2, and migrations/ is untouched', async () => {
    const before = fs.readdirSync(migrationsDir);
    const run = await runEntry('src/cli/db-new.ts', {}, ['Bad Name']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^db:new: "Bad Name" is not a migration name: /);
    const none = await runEntry('src/cli/db-new.ts', {}, []);
    assert.equal(none.code, 2);
    assert.equal(none.stderr, 'db:new: usage: npm run db:new -- <name>\n');
    assert.deepEqual(fs.readdirSync(migrationsDir), before);
  });
});
