import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { migrate, readMigrations } from '../../src/platform/db/migrate.js';
import { pgliteHandle } from '../../src/platform/db/pglite.js';
import { createPostgres } from '../../src/platform/db/postgres.js';
import { pgbouncerSkip, startPgbouncer, type Pgbouncer } from './pgbouncer.js';
import { servicesOff, skipOrFail } from './skip.js';

export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/test';

async function probePostgres(): Promise<string | undefined> {
  const client = new pg.Client({
    connectionString: TEST_DATABASE_URL,
    // Generous: on a busy machine a connection has taken over 2 s, and under CI a failed probe
    // fails the suite. An unreachable server still answers "refused" at once.
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return skipOrFail('PostgreSQL', `${TEST_DATABASE_URL}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Undefined when PostgreSQL is reachable, else the reason the suite is skipped. */
export const postgresSkip = servicesOff
  ? 'PostgreSQL not used (TEST_SERVICES=none)'
  : await probePostgres();

/**
 * TEST_DB_POOLER=pgbouncer (`npm run test:pooler`): the databases of openPostgres are reached
 * through a PgBouncer in transaction mode (one per test process), as DB_POOLER=transaction
 * runs the service; they are migrated directly, as DATABASE_DIRECT_URL does.
 */
const throughPgbouncer = process.env.TEST_DB_POOLER === 'pgbouncer';
if (throughPgbouncer && !postgresSkip && pgbouncerSkip()) {
  throw new Error('TEST_DB_POOLER=pgbouncer needs PgBouncer: apt-get install pgbouncer');
}
let pgbouncer: Promise<Pgbouncer> | undefined;

/**
 * The settings DB_POOLER=transaction takes from the database instead of the connection
 * (docs/operations/production.md): the same values the direct pool below sends.
 */
async function setPoolerSettings(name: string) {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(
      `alter database ${name} set statement_timeout = '15s';` +
        `alter database ${name} set lock_timeout = '5s';` +
        `alter database ${name} set jit = off`,
    );
  } finally {
    await admin.end();
  }
}

/** A new, migrated database on the test server, dropped again by close(). */
export async function openPostgres(): Promise<DatabaseHandle> {
  const name = `stratum_t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const handle = createPostgres({
    url: url.toString(),
    poolMax: 10,
    idleTimeoutMs: 10_000,
    connectTimeoutMs: 10_000,
    statementTimeoutMs: 15_000,
    lockTimeoutMs: 5_000,
  });
  await migrate(handle.db);
  let opened = handle;
  if (throughPgbouncer) {
    await handle.close();
    await setPoolerSettings(name);
    pgbouncer ??= startPgbouncer(TEST_DATABASE_URL);
    opened = createPostgres({
      url: (await pgbouncer).url(name),
      poolMax: 10,
      idleTimeoutMs: 10_000,
      connectTimeoutMs: 10_000,
      statementTimeoutMs: 15_000,
      lockTimeoutMs: 5_000,
      pooler: 'transaction',
    });
  }
  return {
    ...opened,
    async close() {
      await opened.close();
      const dropper = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}

/**
 * An in-memory PGlite with the migrations applied. Creating a cluster costs seconds, so the
 * migrated data directory is built once per migration set and loaded from a tarball after that.
 */
export async function openPglite(): Promise<DatabaseHandle> {
  const migrations = await readMigrations();
  const hash = crypto.createHash('sha256').update(JSON.stringify(migrations)).digest('hex');
  const tarball = path.join(os.tmpdir(), `stratum-pglite-${hash.slice(0, 16)}.tar`);
  if (!fs.existsSync(tarball)) {
    const pglite = await PGlite.create();
    const handle = pgliteHandle(pglite);
    await migrate(handle.db, migrations);
    const blob = await pglite.dumpDataDir('none');
    const temp = `${tarball}.${process.pid}`;
    fs.writeFileSync(temp, Buffer.from(await blob.arrayBuffer()));
    fs.renameSync(temp, tarball);
    return handle;
  }
  const pglite = await PGlite.create({ loadDataDir: new Blob([fs.readFileSync(tarball)]) });
  return pgliteHandle(pglite);
}

export interface Engine {
  name: 'pglite' | 'postgres';
  skip: string | undefined;
  open(): Promise<DatabaseHandle>;
}

/** The engines a repository suite runs against: both, always. */
export const engines: Engine[] = [
  { name: 'pglite', skip: undefined, open: openPglite },
  { name: 'postgres', skip: postgresSkip, open: openPostgres },
];
