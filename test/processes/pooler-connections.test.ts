import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { PREPARED, type DatabaseHandle } from '../../src/platform/db/database.js';
import { createPostgres } from '../../src/platform/db/postgres.js';
import { postgresSkip, TEST_DATABASE_URL } from '../support/databases.js';
import { pgbouncerSkip, startPgbouncer, type Pgbouncer } from '../support/pgbouncer.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';

const poolOptions = {
  poolMax: 10,
  idleTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 15_000,
  lockTimeoutMs: 5_000,
};

interface Settings {
  jit: string;
  work_mem: string;
  statement_timeout: string;
}

async function settings(database: DatabaseHandle): Promise<Settings> {
  const { rows } = await sql<Settings>`select current_setting('jit') as jit,
    current_setting('work_mem') as work_mem,
    current_setting('statement_timeout') as statement_timeout`.execute(database.db);
  return rows[0]!;
}

describe('the options of DATABASE_URL', { skip: postgresSkip }, () => {
  it('when DATABASE_URL has its own options, then they are kept beside jit=off and the timeouts', async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('options', '-c work_mem=7MB');
    const database = createPostgres({ ...poolOptions, url: url.toString() });
    try {
      assert.deepEqual(await settings(database), {
        jit: 'off',
        work_mem: '7MB',
        statement_timeout: '15s',
      });
    } finally {
      await database.close();
    }
  });

  it("when DATABASE_URL's options set jit, then its word is the last", async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('options', '-c jit=on');
    const database = createPostgres({ ...poolOptions, url: url.toString() });
    try {
      assert.equal((await settings(database)).jit, 'on');
    } finally {
      await database.close();
    }
  });
});

describe(
  'PostgreSQL through PgBouncer in transaction mode',
  { skip: postgresSkip ?? pgbouncerSkip() },
  () => {
    let scratch: ScratchDatabase;
    let pgbouncer: Pgbouncer;
    let through: string;

    before(async () => {
      scratch = await createScratchDatabase();
      pgbouncer = await startPgbouncer(scratch.url);
      through = pgbouncer.url(new URL(scratch.url).pathname.slice(1));
    });
    after(async () => {
      await pgbouncer?.close();
      await scratch?.drop();
    });

    it('when the pool sends its start-up parameters, then PgBouncer refuses the connection (08P01)', async () => {
      const database = createPostgres({ ...poolOptions, url: through });
      try {
        await assert.rejects(database.ping(), { code: '08P01' });
      } finally {
        await database.close();
      }
    });

    it('when DB_POOLER=transaction, then marked statements run on whichever server connection comes', async () => {
      const database = createPostgres({ ...poolOptions, url: through, pooler: 'transaction' });
      try {
        // Twice as many clients as the pooler's server connections, each running the statement
        // several times: a name prepared on one server connection is unknown on the others.
        const results = await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            let sum = 0;
            for (let n = 0; n < 5; n++) {
              const { rows } = await sql<{
                doubled: number;
              }>`${sql.raw(PREPARED)} select ${i + n}::int * 2 as doubled`.execute(database.db);
              sum += rows[0]!.doubled;
            }
            return sum;
          }),
        );
        assert.deepEqual(
          results,
          Array.from({ length: 20 }, (_, i) => 2 * (5 * i + 10)),
        );
      } finally {
        await database.close();
      }
    });

    it("when DB_POOLER=transaction, then the settings are the database's own (ALTER DATABASE … SET)", async () => {
      const name = new URL(scratch.url).pathname.slice(1);
      const admin = createPostgres({ ...poolOptions, url: scratch.url });
      await sql
        .raw(
          `alter database ${name} set jit = off; alter database ${name} set statement_timeout = '9s'`,
        )
        .execute(admin.db);
      await admin.close();
      // A new server connection reads them: the pooler's connections made before kept the old.
      await pgbouncer.close();
      pgbouncer = await startPgbouncer(scratch.url);
      through = pgbouncer.url(name);
      const database = createPostgres({ ...poolOptions, url: through, pooler: 'transaction' });
      try {
        const seen = await settings(database);
        assert.equal(seen.jit, 'off');
        assert.equal(seen.statement_timeout, '9s');
      } finally {
        await database.close();
      }
    });
  },
);
