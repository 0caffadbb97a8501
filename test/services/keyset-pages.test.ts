import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { PostgresPostsRepository } from '../../src/modules/posts/posts.repository.js';
import { PostgresUsersRepository } from '../../src/modules/users/users.repository.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import type { Keyset } from '../../src/platform/db/keyset.js';
import { engines } from '../support/databases.js';
import { assertIndexServesInOrder, recordingDatabase } from '../support/query-plans.js';

const ROWS = 2_000;

/** Every page after `first`, by keyset, until a short page: the ids in the order read. */
async function walk(limit: number, page: (after?: Keyset) => Promise<Keyset[]>) {
  const ids: string[] = [];
  let after: Keyset | undefined;
  for (;;) {
    const rows = await page(after);
    ids.push(...rows.map((r) => r.id));
    if (rows.length < limit) return ids;
    after = rows.at(-1);
  }
}

for (const engine of engines) {
  describe(`keyset pages (API v2) on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    let recorded: ReturnType<typeof recordingDatabase>;
    let authorId: string;

    before(async () => {
      database = await engine.open();
      // One statement: every row shares one now(), to the microsecond: the cursor's millisecond
      // alone could not tell them apart, the id must.
      await sql`
        insert into users (id, name, email, status)
        select gen_random_uuid(), 'User ' || i, 'k' || i || '@example.com',
               case when i % 10 = 0 then 'suspended' else 'active' end
        from generate_series(1, ${ROWS}) as i`.execute(database.db);
      authorId = (await database.db.selectFrom('users').select('id').executeTakeFirstOrThrow()).id;
      await sql`
        insert into posts (id, author_id, title, content, created_at)
        select gen_random_uuid(), ${authorId}::uuid, 'Post ' || i, 'Text ' || i,
               now() - (i / 7) * interval '1 millisecond'
        from generate_series(1, ${ROWS}) as i`.execute(database.db);
      await sql`analyze users`.execute(database.db);
      await sql`analyze posts`.execute(database.db);
      recorded = recordingDatabase(database.db);
    });
    after(async () => {
      await database?.close();
    });

    it('when users sharing one microsecond timestamp are paged by keyset, then each comes once, in order', async () => {
      const users = new PostgresUsersRepository(database.db);
      const ids = await walk(37, (after) => users.listAfter({ after, limit: 37 }));
      const expected = await database.db
        .selectFrom('users')
        .select('id')
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      assert.deepEqual(
        ids,
        expected.map((r) => r.id),
      );
    });

    it('when posts sharing milliseconds are paged by keyset, then each comes once, in order', async () => {
      const posts = new PostgresPostsRepository(database.db);
      const ids = await walk(41, (after) => posts.listAfter(after, 41));
      assert.equal(ids.length, ROWS);
      assert.equal(new Set(ids).size, ROWS);
    });

    const deep = async (table: 'users' | 'posts'): Promise<Keyset> => {
      const row = await database.db
        .selectFrom(table)
        .select(['created_at', 'id'])
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .offset(ROWS - 100)
        .limit(1)
        .executeTakeFirstOrThrow();
      return { createdAt: row.created_at, id: row.id };
    };

    it('when a users page deep in the list is read, then users_created_idx gives it in order without a sort', async (t) => {
      const users = new PostgresUsersRepository(recorded.db);
      const after = await deep('users');
      const query = await recorded.queryOf(() => users.listAfter({ after, limit: 20 }));
      await assertIndexServesInOrder(t, database.db, query, 'users_created_idx');
    });

    it('when active users are paged, then users_active_created_idx serves the page without a sort', async (t) => {
      const users = new PostgresUsersRepository(recorded.db);
      const after = await deep('users');
      const query = await recorded.queryOf(() =>
        users.listAfter({ after, limit: 20, status: 'active' }),
      );
      await assertIndexServesInOrder(t, database.db, query, 'users_active_created_idx');
    });

    it('when a posts page deep in the list is read, then posts_created_idx gives it in order without a sort', async (t) => {
      const posts = new PostgresPostsRepository(recorded.db);
      const after = await deep('posts');
      const query = await recorded.queryOf(() => posts.listAfter(after, 20));
      await assertIndexServesInOrder(t, database.db, query, 'posts_created_idx');
    });

    it('when a count is asked, then it is exact up to the limit and an estimate above it', async () => {
      const users = new PostgresUsersRepository(database.db);
      assert.deepEqual(await users.count({}, ROWS), { count: ROWS, estimated: false });
      assert.deepEqual(await users.count({ status: 'suspended' }, ROWS), {
        count: ROWS / 10,
        estimated: false,
      });
      const estimate = await users.count({}, 100);
      assert.equal(estimate.estimated, true);
      // The planner's figure after ANALYZE; never below what the bounded count saw.
      assert.ok(
        estimate.count > 100 && Math.abs(estimate.count - ROWS) < ROWS * 0.2,
        `${estimate.count}`,
      );
      const posts = new PostgresPostsRepository(database.db);
      assert.equal((await posts.count(10)).estimated, true);
    });
  });
}
