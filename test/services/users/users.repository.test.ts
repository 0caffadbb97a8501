import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import {
  PostgresUsersRepository,
  type NewUser,
  type User,
} from '../../../src/modules/users/users.repository.js';
import { USER_SORTS, type UserSort } from '../../../src/modules/users/users.types.js';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { UniqueViolationError } from '../../../src/platform/db/errors.js';
import type { UserStatus } from '../../../src/platform/db/schema.js';
import { engines } from '../../support/databases.js';
import { walkPages } from '../../support/pages.js';
import {
  assertIndexServesInOrder,
  explain,
  recordingDatabase,
  usesIndex,
} from '../../support/query-plans.js';

let sequence = 0;
function newUser(overrides: Partial<NewUser> = {}): NewUser {
  sequence++;
  return {
    id: uuidv7(),
    name: `User ${sequence}`,
    email: `user${sequence}@example.com`,
    role: 'user',
    status: 'active',
    ...overrides,
  };
}

/** Every case spelling of an ASCII string, as fast-check picks them. */
function caseVariantOf(text: string) {
  return fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((upper) =>
      [...text].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''),
    );
}

for (const engine of engines) {
  describe(`users repository on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    let users: PostgresUsersRepository;

    before(async () => {
      database = await engine.open();
      users = new PostgresUsersRepository(database.db);
    });
    after(async () => {
      await database?.close();
    });

    describe('create, find, update, delete', () => {
      beforeEach(async () => {
        await sql`truncate users cascade`.execute(database.db);
      });

      it('when a user is created, then it comes back as stored, with timestamps from the database', async () => {
        const input = newUser({ role: 'admin', status: 'suspended' });
        const before = Date.now();

        const created = await users.create(input);

        assert.deepEqual(
          { ...created, createdAt: undefined, updatedAt: undefined },
          {
            ...input,
            // Unverified unless created as verified (an operator's account).
            emailVerified: false,
            createdAt: undefined,
            updatedAt: undefined,
          },
        );
        assert.equal((await users.create(newUser({ emailVerified: true }))).emailVerified, true);
        assert.ok(created.createdAt instanceof Date);
        assert.ok(Math.abs(created.createdAt.getTime() - before) < 60_000);
        assert.deepEqual(created.updatedAt, created.createdAt);
      });

      it('when looked up by id, then the user is found, and an unknown id finds nothing', async () => {
        const created = await users.create(newUser());

        assert.deepEqual(await users.findById(created.id), created);
        assert.equal(await users.findById(uuidv7()), undefined);
      });

      it('when looked up by email in any case, then the user is found', async () => {
        const created = await users.create(newUser({ email: 'Grace.Hopper@Example.com' }));

        await fc.assert(
          fc.asyncProperty(caseVariantOf(created.email), async (spelling) => {
            assert.deepEqual(await users.findByEmail(spelling), created);
          }),
          { numRuns: 25 },
        );
        assert.equal(await users.findByEmail('grace.hopper@example.org'), undefined);
      });

      it('when the email has non-ASCII capitals, then the lookup lowercases it as the unique index does', async () => {
        // JavaScript lowercases "İ" to "i" plus a combining dot; PostgreSQL's lower() to "i".
        const created = await users.create(newUser({ email: 'İnci.Öztürk@example.com' }));

        assert.deepEqual(await users.findByEmail('İnci.Öztürk@example.com'), created);
        assert.deepEqual(await users.findByEmail('İNCİ.ÖZTÜRK@EXAMPLE.COM'), created);
      });

      it('when another user takes the same email in another case, then UniqueViolationError names the index', async () => {
        await users.create(newUser({ email: 'ada@example.com' }));

        await assert.rejects(users.create(newUser({ email: 'ADA@Example.COM' })), (err) => {
          assert.ok(err instanceof UniqueViolationError);
          assert.equal(err.constraint, 'users_email_lower_key');
          return true;
        });
      });

      it('when a user is updated, then only the given fields change and updatedAt moves on', async () => {
        const created = await users.create(newUser());

        const updated = await users.update(created.id, { name: 'Renamed', status: 'suspended' });

        assert.ok(updated);
        assert.deepEqual(
          { ...updated, updatedAt: undefined },
          { ...created, name: 'Renamed', status: 'suspended', updatedAt: undefined },
        );
        assert.ok(updated.updatedAt.getTime() >= created.updatedAt.getTime());
        assert.deepEqual(await users.findById(created.id), updated);
      });

      it('when an unknown id is updated, then nothing is returned', async () => {
        assert.equal(await users.update(uuidv7(), { name: 'Nobody' }), undefined);
      });

      it('when an update takes another user’s email in another case, then UniqueViolationError', async () => {
        await users.create(newUser({ email: 'taken@example.com' }));
        const other = await users.create(newUser());

        await assert.rejects(
          users.update(other.id, { email: 'TAKEN@example.com' }),
          UniqueViolationError,
        );
        assert.deepEqual(await users.findById(other.id), other);
      });

      it('when a user is deleted, then it is gone and a second delete reports nothing deleted', async () => {
        const created = await users.create(newUser());

        assert.equal(await users.delete(created.id), true);
        assert.equal(await users.findById(created.id), undefined);
        assert.equal(await users.delete(created.id), false);
      });

      it('when the table is empty, then the list is empty with a total of 0', async () => {
        assert.deepEqual(await users.list({ offset: 0, limit: 10, sort: '-createdAt' }), {
          items: [],
          totalCount: 0,
        });
      });
    });

    describe('list', () => {
      // Same-length lowercase names sort the same under every collation; insertion order differs.
      const names = ['kiwi', 'date', 'plum', 'lime', 'pear', 'fig', 'yuzu', 'sloe', 'acai'];
      const suspended = new Set(['date', 'pear', 'acai']);
      let seeded: User[];

      before(async () => {
        await sql`truncate users cascade`.execute(database.db);
        seeded = [];
        // One at a time, so created_at (and the UUIDv7 id) grow in insertion order.
        for (const name of names) {
          const status: UserStatus = suspended.has(name) ? 'suspended' : 'active';
          seeded.push(await users.create(newUser({ name, email: `${name}@example.com`, status })));
        }
      });

      function expected(sort: UserSort, status?: UserStatus): User[] {
        const key = sort.replace('-', '') as 'createdAt' | 'name' | 'email';
        const ordered = [...seeded]
          .filter((u) => status === undefined || u.status === status)
          // Insertion order is the created_at order; name and email are distinct.
          .sort((a, b) =>
            key === 'createdAt' ? seeded.indexOf(a) - seeded.indexOf(b) : a[key] < b[key] ? -1 : 1,
          );
        return sort.startsWith('-') ? ordered.reverse() : ordered;
      }

      it('when the first page is read newest first, then it holds the newest users and the total of all', async () => {
        const page = await users.list({ offset: 0, limit: 4, sort: '-createdAt' });

        assert.deepEqual(page, { items: seeded.slice(-4).reverse(), totalCount: names.length });
      });

      it('when filtered by status, then only that status is listed and counted', async () => {
        const page = await users.list({ offset: 0, limit: 2, sort: 'name', status: 'suspended' });

        assert.deepEqual(
          page.items.map((u) => u.name),
          ['acai', 'date'],
        );
        assert.equal(page.totalCount, suspended.size);
      });

      it('when a page past the end is read, then it is empty and still reports the total', async () => {
        assert.deepEqual(await users.list({ offset: 100, limit: 4, sort: 'name' }), {
          items: [],
          totalCount: names.length,
        });
        assert.deepEqual(
          await users.list({ offset: names.length, limit: 4, sort: 'name', status: 'active' }),
          { items: [], totalCount: names.length - suspended.size },
        );
      });

      it('when every page is walked, for any page size, sort and filter, then each user appears once, in order, under one total', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: names.length + 1 }),
            fc.constantFrom(...USER_SORTS),
            fc.constantFrom<UserStatus | undefined>(undefined, 'active', 'suspended'),
            async (limit, sort, status) => {
              const want = expected(sort, status);
              const walked = await walkPages(limit, want.length, (offset) =>
                users.list({ offset, limit, sort, status }),
              );
              assert.deepEqual(walked, want);
            },
          ),
          { numRuns: 40 },
        );
      });
    });

    describe('query plans', () => {
      const rowCount = 5000;
      let recorded: ReturnType<typeof recordingDatabase>;
      let recordingUsers: PostgresUsersRepository;

      before(async () => {
        await sql`truncate users cascade`.execute(database.db);
        // One in ten suspended, newest first by minute: a plausible table, big enough to plan for.
        await sql`
          insert into users (id, name, email, status, created_at)
          select gen_random_uuid(), 'User ' || i, 'user' || i || '@example.com',
                 case when i % 10 = 0 then 'suspended' else 'active' end,
                 now() - make_interval(mins => i)
          from generate_series(1, ${rowCount}) as i`.execute(database.db);
        await sql`analyze users`.execute(database.db);
        recorded = recordingDatabase(database.db);
        recordingUsers = new PostgresUsersRepository(recorded.db);
      });

      it('when a user is looked up by email, then the plan uses users_email_lower_key', async () => {
        const query = await recorded.queryOf(async () => {
          const found = await recordingUsers.findByEmail('USER42@example.com');
          assert.equal(found?.name, 'User 42');
        });

        const plan = await explain(database.db, query);

        assert.ok(usesIndex(plan, 'users_email_lower_key'), JSON.stringify(plan));
      });

      it('when active users are listed newest first, then users_active_created_idx gives rows in order without a sort', async (t: TestContext) => {
        const query = await recorded.queryOf(async () => {
          const page = await recordingUsers.list({
            offset: 0,
            limit: 20,
            sort: '-createdAt',
            status: 'active',
          });
          assert.equal(page.totalCount, rowCount - rowCount / 10);
        });

        await assertIndexServesInOrder(t, database.db, query, 'users_active_created_idx');
      });
    });
  });
}
