import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { engines } from '../support/databases.js';
import { declaredColumns, schemaDrift, type Column } from '../support/declared-schema.js';

/**
 * schema.ts is written by hand: a migration that adds, drops or changes a column without it
 * (or the reverse) type-checks and fails at run time. This compares the two.
 */
describe('schema drift between migrations/ and schema.ts', () => {
  let declared: Column[];
  before(() => {
    declared = declaredColumns();
  });

  it('when schema.ts is read with the compiler, then its columns, types and nullability come out as Kysely selects them', () => {
    const find = (table: string, column: string) =>
      declared.find((c) => c.table === table && c.column === column);
    assert.deepEqual(find('users', 'password_hash'), {
      table: 'users',
      column: 'password_hash',
      type: 'string',
      nullable: true,
    });
    assert.equal(find('users', 'created_at')?.type, 'Date');
    assert.equal(find('outbox', 'attempts')?.type, 'number');
    assert.equal(find('posts', 'view_count')?.type, 'bigint|number|string');
    assert.equal(find('outbox', 'payload')?.nullable, undefined);
    assert.ok(new Set(declared.map((c) => c.table)).size >= 13);
  });

  it('when the sides differ, then each difference is named', () => {
    const live: Column[] = [
      { table: 't', column: 'a', type: 'text', nullable: false },
      { table: 't', column: 'b', type: 'bigint', nullable: true },
      { table: 't', column: 'c', type: 'integer', nullable: false },
    ];
    const types: Column[] = [
      { table: 't', column: 'a', type: 'string', nullable: true },
      { table: 't', column: 'b', type: 'number', nullable: true },
      { table: 't', column: 'd', type: 'string', nullable: false },
    ];
    assert.deepEqual(schemaDrift(live, types), [
      't.a: not null in the database, nullable in schema.ts',
      't.b: bigint in the database, number in schema.ts (expected bigint|number|string)',
      't.c: in the database (integer), not in schema.ts',
      't.d: in schema.ts, not in the database',
    ]);
  });

  for (const engine of engines) {
    describe(`on ${engine.name}`, { skip: engine.skip }, () => {
      let database: DatabaseHandle;
      before(async () => {
        database = await engine.open();
      });
      after(async () => database?.close());

      it('when freshly migrated, then every table and column matches schema.ts', async () => {
        const { rows } = await sql<{
          table_name: string;
          column_name: string;
          data_type: string;
          is_nullable: 'YES' | 'NO';
        }>`select table_name, column_name, data_type, is_nullable
           from information_schema.columns
           where table_schema = current_schema()
           order by table_name, ordinal_position`.execute(database.db);
        const live = rows.map((r) => ({
          table: r.table_name,
          column: r.column_name,
          type: r.data_type,
          nullable: r.is_nullable === 'YES',
        }));
        assert.ok(live.length > 0);
        assert.deepEqual(schemaDrift(live, declared), []);
      });
    });
  }
});
