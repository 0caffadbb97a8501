import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { PREPARED, type DatabaseHandle } from '../../src/platform/db/database.js';
import { engines } from '../support/databases.js';

for (const engine of engines) {
  describe(`statements marked PREPARED on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    before(async () => (database = await engine.open()));
    after(async () => database?.close());

    it('when a marked statement runs, then it answers like any other, with its parameters', async () => {
      for (const n of [1, 2, 3]) {
        const { rows } = await sql<{
          doubled: number;
        }>`${sql.raw(PREPARED)} select ${n}::int * 2 as doubled`.execute(database.db);
        assert.equal(rows[0]?.doubled, n * 2);
      }
    });

    it('when a marked statement runs twice on one connection, then the server prepared it once', async () => {
      if (database.engine !== 'postgres') return;
      await database.db.connection().execute(async (conn) => {
        const marked = (n: number) => sql`${sql.raw(PREPARED)} select ${n}::int as n`.execute(conn);
        await marked(1);
        await marked(2);
        await sql`select 1 as unmarked`.execute(conn);
        const { rows } = await sql<{ statement: string }>`
          select statement from pg_prepared_statements where name like 'stratum_%'`.execute(conn);
        const texts = rows.map((row) => row.statement);
        assert.equal(texts.filter((text) => /select \$1::int as n$/.test(text)).length, 1);
        assert.ok(!texts.some((text) => text.includes('unmarked')));
      });
    });
  });
}
