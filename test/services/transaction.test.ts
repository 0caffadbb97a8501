import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { withTransaction, type Tx } from '../../src/platform/db/transaction.js';
import { engines } from '../support/databases.js';

function codeError(code: string) {
  return Object.assign(new Error(`simulated ${code}`), { code });
}

/** Resolves for everyone once `parties` callers have arrived. */
function barrier(parties: number) {
  let arrived = 0;
  let open!: () => void;
  const all = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    if (++arrived === parties) open();
    await all;
  };
}

for (const engine of engines) {
  describe(`withTransaction on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    before(async () => (database = await engine.open()));
    after(async () => database?.close());

    async function insertUser(db: Tx, name: string) {
      const id = randomUUID();
      await db
        .insertInto('users')
        .values({ id, name, email: `${id}@example.com`, role: 'user', status: 'active' })
        .execute();
      return id;
    }

    async function userExists(id: string) {
      const row = await database.db
        .selectFrom('users')
        .select('id')
        .where('id', '=', id)
        .executeTakeFirst();
      return row !== undefined;
    }

    it('when fn resolves, then its writes are committed and its value returned', async () => {
      const id = await withTransaction(database.db, (tx) => insertUser(tx, 'Committed'));
      assert.equal(await userExists(id), true);
    });

    it('when fn throws after a write, then the write is rolled back and the error rethrown', async () => {
      const failure = new Error('business rule broken');
      let id = '';
      await assert.rejects(
        withTransaction(database.db, async (tx) => {
          id = await insertUser(tx, 'Rolled back');
          throw failure;
        }),
        (err) => err === failure,
      );
      assert.equal(await userExists(id), false);
    });

    it('when an isolation level is asked for, then the transaction runs at it', async () => {
      const level = await withTransaction(
        database.db,
        async (tx) =>
          (
            await sql<{
              level: string;
            }>`select current_setting('transaction_isolation') as level`.execute(tx)
          ).rows[0]?.level,
        { isolation: 'serializable' },
      );
      assert.equal(level, 'serializable');
    });

    it('when the first attempt hits a serialization failure, then fn runs again in a new transaction', async () => {
      const ids: string[] = [];
      const result = await withTransaction(
        database.db,
        async (tx) => {
          ids.push(await insertUser(tx, 'Retried'));
          if (ids.length === 1) throw codeError('40001');
          return 'done';
        },
        { retries: 3 },
      );
      assert.equal(result, 'done');
      assert.equal(ids.length, 2);
      assert.equal(await userExists(ids[0]!), false, 'the failed attempt was rolled back');
      assert.equal(await userExists(ids[1]!), true);
    });

    it('when a deadlock (40P01) is detected, then it is retried too', async () => {
      let attempts = 0;
      await withTransaction(
        database.db,
        async () => {
          if (++attempts === 1) throw codeError('40P01');
        },
        { retries: 1 },
      );
      assert.equal(attempts, 2);
    });

    it('when the failure persists, then it gives up after `retries` retries with the error', async () => {
      let attempts = 0;
      await assert.rejects(
        withTransaction(
          database.db,
          async () => {
            attempts++;
            throw codeError('40001');
          },
          { retries: 2 },
        ),
        { code: '40001' },
      );
      assert.equal(attempts, 3);
    });

    it('when retries is not given, then a serialization failure is thrown at once', async () => {
      let attempts = 0;
      await assert.rejects(
        withTransaction(database.db, async () => {
          attempts++;
          throw codeError('40001');
        }),
        { code: '40001' },
      );
      assert.equal(attempts, 1);
    });

    it('when the error is not retryable, then it is not retried even with retries left', async () => {
      let attempts = 0;
      await assert.rejects(
        withTransaction(
          database.db,
          async () => {
            attempts++;
            throw codeError('23505');
          },
          { retries: 5 },
        ),
        { code: '23505' },
      );
      assert.equal(attempts, 1);
    });

    describe(
      'two serializable transactions in a write skew',
      {
        skip: engine.name === 'pglite' && 'PGlite has one connection: transactions never overlap',
      },
      () => {
        /** Both read the count of `tag` rows, wait for each other, then both insert one. */
        function skewed(tag: string, retries: number) {
          const bothHaveRead = barrier(2);
          const run = () => {
            let attempt = 0;
            return withTransaction(
              database.db,
              async (tx) => {
                const { count } = await tx
                  .selectFrom('users')
                  .select((eb) => eb.fn.countAll<string>().as('count'))
                  .where('name', '=', tag)
                  .executeTakeFirstOrThrow();
                if (++attempt === 1) await bothHaveRead();
                await insertUser(tx, tag);
                return Number(count);
              },
              { isolation: 'serializable', retries },
            );
          };
          return Promise.allSettled([run(), run()]);
        }

        it('when not retried, then PostgreSQL fails one of them with 40001', async () => {
          const results = await skewed(`skew-${randomUUID()}`, 0);
          const failed = results.filter((r) => r.status === 'rejected');
          assert.equal(failed.length, 1);
          assert.equal((failed[0]!.reason as { code?: string }).code, '40001');
        });

        it('when retried, then both commit and the retry sees the first one’s row', async () => {
          const tag = `skew-${randomUUID()}`;
          const results = await skewed(tag, 3);
          const counts = results.map((r) => {
            assert.equal(r.status, 'fulfilled', String(r.status === 'rejected' && r.reason));
            return r.value;
          });
          assert.deepEqual(counts.sort(), [0, 1]);
          const rows = await database.db
            .selectFrom('users')
            .select('id')
            .where('name', '=', tag)
            .execute();
          assert.equal(rows.length, 2);
        });
      },
    );
  });
}
