import assert from 'node:assert/strict';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { postgresSkip } from '../support/databases.js';
import { DependencyUnreachableError, startupMessage } from '../../src/platform/startup-errors.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';
import { runEntry } from '../support/service-process.js';

const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/stratum';

/** The process failed the way a person can act on: exit 1, one line on stderr, no stack. */
function assertOneLine(run: { code: number | null; stderr: string }, pattern: RegExp) {
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
}

function unreachable(cause: object, url = 'postgres://app:secret@db.internal:5433/shop') {
  return startupMessage(new DependencyUnreachableError('DATABASE_URL', url, { cause }), {
    connectTimeoutMs: 2000,
  });
}

describe('start-up error messages', () => {
  it('when PostgreSQL refuses, times out or rejects the login, then the line says which server and what to check', () => {
    assert.equal(
      unreachable({ code: 'ECONNREFUSED' }),
      'the database at db.internal:5433 refused the connection: is PostgreSQL running and listening there? Check DATABASE_URL',
    );
    assert.equal(
      unreachable({ code: 'ENOTFOUND' }),
      'the database host "db.internal" was not found: check the host name in DATABASE_URL',
    );
    assert.equal(
      unreachable(new Error('timeout exceeded when trying to connect')),
      'the database at db.internal:5433 did not answer within 2000 ms: is PostgreSQL running, and is db.internal:5433 reachable from here? Check DATABASE_URL',
    );
    assert.equal(
      unreachable(new Error('Connection terminated unexpectedly')),
      'the database at db.internal:5433 closed the connection or did not answer within 2000 ms: is PostgreSQL running, and is db.internal:5433 reachable from here? Check DATABASE_URL',
    );
    assert.equal(
      unreachable({ code: '28P01', message: 'password authentication failed for user "app"' }),
      'the database at db.internal:5433 refused the password of user "app": check the user and password in DATABASE_URL',
    );
    assert.equal(
      unreachable({ code: '3D000', message: 'database "shop" does not exist' }),
      'the database "shop" does not exist on db.internal:5433: create it (createdb shop) or fix DATABASE_URL',
    );
    assert.doesNotMatch(unreachable({ code: 'ECONNREFUSED' })!, /secret/);
  });

  it('when a port is taken, then the line names the variable that moves it', () => {
    const inUse = Object.assign(new Error('listen EADDRINUSE'), {
      code: 'EADDRINUSE',
      syscall: 'listen',
      port: 3001,
    });
    assert.equal(
      startupMessage(inUse, { portVariable: 'WORKER_PORT' }),
      'port 3001 is in use: stop the other process or set WORKER_PORT=…',
    );
  });

  it('when the error has no known cause, then there is no line for it (its stack is printed)', () => {
    assert.equal(startupMessage(new Error('something else')), undefined);
  });
});

describe('start-up with the usual mistakes', { timeout: 120_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-startup-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('when several variables are bad, then one line names every one of them', async () => {
    const run = await runEntry('src/main.ts', {
      DATA_DIR: dataDir,
      PORT: 'http',
      LOG_LEVEL: 'loud',
      DB_POOL_MAX: '0',
    });
    assertOneLine(run, /^Invalid configuration: PORT: .+; LOG_LEVEL: .+; DB_POOL_MAX: .+$/);
  });

  for (const [name, script, extra] of [
    ['the API', 'src/main.ts', {}],
    // The queue URL only has to pass the worker's check: the database fails first.
    ['the worker', 'src/worker.ts', { QUEUE_REDIS_URL: 'redis://127.0.0.1:6379' }],
    ['db:migrate', 'src/cli/migrate.ts', {}],
  ] as const) {
    it(`when DATABASE_URL points at nothing, then ${name} says which host and port refused`, async () => {
      const run = await runEntry(script, {
        DATA_DIR: dataDir,
        DATABASE_URL: UNREACHABLE,
        ...extra,
      });
      assertOneLine(
        run,
        /^the database at 127\.0\.0\.1:1 refused the connection: is PostgreSQL running and listening there\? Check DATABASE_URL$/,
      );
    });
  }
});

describe('start-up on PostgreSQL', { skip: postgresSkip, timeout: 180_000 }, () => {
  let scratch: ScratchDatabase;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-startup-pg-'));

  before(async () => {
    scratch = await createScratchDatabase();
  });
  after(async () => {
    await scratch.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the database was never migrated, then the API and user:create say to run db:migrate', async () => {
    const env = { DATA_DIR: dataDir, DATABASE_URL: scratch.url };
    const notMigrated =
      /^the database is not migrated: run `npm run db:migrate` \(\d+ migrations pending, from 0001_\w+\)$/;
    assertOneLine(await runEntry('src/main.ts', env), notMigrated);
    assertOneLine(
      await runEntry('src/cli/user-create.ts', env, [
        '--email',
        'ops@example.com',
        '--password',
        'an operator passphrase',
      ]),
      notMigrated,
    );
  });

  it('when the port is taken, then the API says so and names PORT', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const run = await runEntry('src/main.ts', {
        DATA_DIR: dataDir,
        DATABASE_URL: scratch.url,
        MIGRATE_ON_START: 'true',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'silent',
      });
      assertOneLine(
        run,
        new RegExp(`^port ${port} is in use: stop the other process or set PORT=…$`),
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  // Migrated by the test above (MIGRATE_ON_START); the recorded checksum stands for the file's.
  it('when an applied migration was edited, then the API and db:migrate refuse with one line naming it', async () => {
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    const edited =
      /^migration 0007_idempotency was edited after it was applied: migrations\/0007_idempotency\.sql no longer has the checksum recorded when it was applied \(0{12}, now [0-9a-f]{12}\); restore the file and add a new migration instead$/;
    try {
      const { rows } = await client.query<{ checksum: string }>(
        `select checksum from schema_migrations where version = '0007'`,
      );
      await client.query(
        `update schema_migrations set checksum = repeat('0', 64) where version = '0007'`,
      );
      const env = { DATA_DIR: dataDir, DATABASE_URL: scratch.url, LOG_LEVEL: 'silent' };
      assertOneLine(await runEntry('src/main.ts', env), edited);
      assertOneLine(await runEntry('src/cli/migrate.ts', env), edited);
      await client.query(`update schema_migrations set checksum = $1 where version = '0007'`, [
        rows[0]!.checksum,
      ]);
    } finally {
      await client.end();
    }
  });
});
