import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresSkip } from '../support/databases.js';
import { pgbouncerSkip, startPgbouncer, type Pgbouncer } from '../support/pgbouncer.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';
import { httpGet, runEntry, startService } from '../support/service-process.js';

const skip = postgresSkip ?? pgbouncerSkip();

/** The process failed the way a person can act on: exit 1, one line on stderr, no stack. */
function assertOneLine(run: { code: number | null; stderr: string }, pattern: RegExp) {
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0]!, pattern);
}

const THROUGH_POOLER =
  /^migrations must not run through the pooler \(DB_POOLER=transaction\): set DATABASE_DIRECT_URL/;

describe('the service behind PgBouncer in transaction mode', { skip }, () => {
  let pgbouncer: Pgbouncer;
  let scratch: ScratchDatabase;
  let env: Record<string, string>;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-pooler-'));

  before(async () => {
    scratch = await createScratchDatabase();
    pgbouncer = await startPgbouncer(scratch.url);
    const name = new URL(scratch.url).pathname.slice(1);
    env = {
      DATA_DIR: dataDir,
      DATABASE_URL: pgbouncer.url(name),
      DB_POOLER: 'transaction',
      MIGRATE_ON_START: 'true',
    };
  });
  after(async () => {
    await pgbouncer?.close();
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when it would migrate without DATABASE_DIRECT_URL, then the API and db:migrate refuse with one line', async () => {
    assertOneLine(await runEntry('src/main.ts', env), THROUGH_POOLER);
    assertOneLine(await runEntry('src/cli/migrate.ts', env), THROUGH_POOLER);
  });

  it('when DATABASE_DIRECT_URL is set, then it migrates there and serves through the pooler', async () => {
    const migrated = await runEntry('src/cli/migrate.ts', {
      ...env,
      DATABASE_DIRECT_URL: scratch.url,
    });
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.match(migrated.stdout, /^applied: 0001_/);
    const service = await startService({ ...env, MIGRATE_ON_START: 'false' }, 90_000);
    try {
      const ready = await httpGet(service.port, '/health/ready');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
    } finally {
      service.signal('SIGTERM');
      await service.exited;
    }
  });
});
