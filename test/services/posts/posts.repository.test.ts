import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import {
  PostgresPostsRepository,
  type NewPost,
  type Post,
} from '../../../src/modules/posts/posts.repository.js';
import { seedPosts } from '../../../src/cli/seed-posts.js';
import { PROBE_ROWS, WALK_ROWS_PER_MATCH } from '../../../src/modules/posts/posts.search.js';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { withTransaction } from '../../../src/platform/db/transaction.js';
import { engines } from '../../support/databases.js';
import { instrument } from '../../support/instrumented-database.js';
import { walkPages } from '../../support/pages.js';
import {
  assertIndexServesInOrder,
  explain,
  recordingDatabase,
  usesIndex,
  type PlanNode,
} from '../../support/query-plans.js';

const window = { offset: 0, limit: 50 };
const rankLimit = 1000;
const titles = (posts: Post[]) => posts.map((p) => p.title);

for (const engine of engines) {
  describe(`posts repository on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    let posts: PostgresPostsRepository;
    let authorId: string;

    async function newAuthor(): Promise<string> {
      const id = uuidv7();
      await database.db
        .insertInto('users')
        .values({ id, name: 'Author', email: `${id}@example.com`, role: 'user', status: 'active' })
        .execute();
      return id;
    }

    function newPost(overrides: Partial<NewPost> = {}): NewPost {
      return { id: uuidv7(), authorId, title: 'A title', content: 'Some content.', ...overrides };
    }

    before(async () => {
      database = await engine.open();
      posts = new PostgresPostsRepository(database.db);
    });
    after(async () => {
      await database?.close();
    });
    beforeEach(async () => {
      await sql`truncate posts`.execute(database.db);
      authorId = await newAuthor();
    });

    describe('create, find, update, delete', () => {
      it('when a post is created, then it reads back as stored, with no views and timestamps from the database', async () => {
        const input = newPost({ title: 'Hello', content: 'World' });

        const created = await posts.create(input);

        assert.deepEqual(
          { ...created, createdAt: undefined, updatedAt: undefined },
          { ...input, viewCount: 0, createdAt: undefined, updatedAt: undefined },
        );
        assert.ok(created.createdAt instanceof Date);
        assert.deepEqual(await posts.findById(created.id), created);
      });

      it('when a post is updated or deleted, then the change shows; an unknown id is undefined / false', async () => {
        const created = await posts.create(newPost());

        const updated = await posts.update(created.id, { title: 'New title' });

        assert.equal(updated?.title, 'New title');
        assert.equal(updated?.content, created.content);
        assert.equal(await posts.update(uuidv7(), { title: 'x' }), undefined);
        assert.equal(await posts.delete(created.id), true);
        assert.equal(await posts.delete(created.id), false);
        assert.equal(await posts.findById(created.id), undefined);
      });

      it('when the database is asked to store a broken post, then its CHECKs refuse it', async () => {
        for (const broken of [
          { title: '' },
          { title: 'x'.repeat(201) },
          { content: '' },
          { content: 'x'.repeat(20_001) },
        ]) {
          await assert.rejects(posts.create(newPost(broken)), JSON.stringify(broken).slice(0, 40));
        }
      });

      it('when the author is deleted, then their posts go with them', async () => {
        const created = await posts.create(newPost());

        await database.db.deleteFrom('users').where('id', '=', authorId).execute();

        assert.equal(await posts.findById(created.id), undefined);
      });
    });

    describe('search', () => {
      it('when a word is in one title and another content, then the title match ranks first', async () => {
        // The content-only match is newer: without weights it would win the tie.
        await posts.create(newPost({ title: 'Growing tomatoes', content: 'They need sun.' }));
        await posts.create(newPost({ title: 'Kitchen', content: 'Notes on tomatoes and basil.' }));

        const found = await posts.search('tomatoes', window, rankLimit);

        assert.deepEqual(titles(found.items), ['Growing tomatoes', 'Kitchen']);
        assert.equal(found.totalCount, 2);
      });

      it('when words are inflected, then English stemming finds them ("running" finds "run")', async () => {
        await posts.create(newPost({ title: 'Run', content: 'Out of the door.' }));
        await posts.create(newPost({ title: 'Swim', content: 'She runs every morning.' }));
        await posts.create(newPost({ title: 'Walk', content: 'Slowly.' }));

        const found = await posts.search('running', window, rankLimit);

        assert.deepEqual(titles(found.items), ['Run', 'Swim']);
      });

      it('when matches rank equally, then the newest comes first, then the higher id', async () => {
        const createdAt = new Date('2025-01-01T00:00:00.000Z');
        for (const title of ['first', 'second', 'third']) {
          await posts.create(newPost({ title: `${title} lantern` }));
        }
        await sql`update posts set created_at = ${createdAt} where title = 'third lantern'`.execute(
          database.db,
        );

        const found = await posts.search('lantern', window, rankLimit);

        assert.deepEqual(titles(found.items), ['second lantern', 'first lantern', 'third lantern']);
      });

      it('when the query uses web-search syntax, then phrases, or and negation work', async () => {
        await posts.create(newPost({ title: 'Red apple', content: 'fruit' }));
        await posts.create(newPost({ title: 'Apple red', content: 'fruit' }));
        await posts.create(newPost({ title: 'Green pear', content: 'fruit' }));

        assert.deepEqual(titles((await posts.search('"red apple"', window, rankLimit)).items), [
          'Red apple',
        ]);
        assert.equal((await posts.search('apple or pear', window, rankLimit)).totalCount, 3);
        assert.deepEqual(titles((await posts.search('fruit -apple', window, rankLimit)).items), [
          'Green pear',
        ]);
      });

      it('when the input looks like SQL, operators, junk or only stop words, then it is just text', async () => {
        await posts.create(newPost({ title: 'Drop table tips', content: 'posts about tables' }));
        const inputs = [
          "'; drop table posts; --",
          '"unclosed',
          'a & | ! :*',
          '(((',
          "'",
          '\\',
          'the and of',
          'naïve café 東京 🚀',
          '\u0000',
          '<script>alert(1)</script>',
          'x'.repeat(200),
          Array.from({ length: 200 }, (_, i) => '!&|:*()"\'-<>'[i % 12]).join(''),
        ];
        for (const q of inputs) {
          const found = await posts.search(q, window, rankLimit);
          assert.ok(Array.isArray(found.items), q);
        }
        assert.equal(
          (await posts.search("'; drop table posts; --", window, rankLimit)).totalCount,
          1,
        );
        assert.equal((await posts.search('the and of', window, rankLimit)).totalCount, 0);
        assert.equal(
          (await posts.findById((await posts.list(window)).items[0]!.id))?.title,
          'Drop table tips',
        );
      });

      it('when results span pages, then every page has the same total and the pages hold every match once', async () => {
        for (let i = 0; i < 7; i++) {
          await posts.create(
            newPost({ title: i % 2 ? 'Harbour' : 'Town', content: 'harbour view' }),
          );
        }

        const walked = await walkPages(3, 7, (offset) =>
          posts.search('harbour', { offset, limit: 3 }, rankLimit),
        );

        assert.equal(new Set(walked.map((p) => p.id)).size, 7);
        assert.deepEqual(titles(walked).slice(0, 3), ['Harbour', 'Harbour', 'Harbour']);
      });
    });

    describe('search window', () => {
      /** `count` posts, one a second back from now; `matches(i)` says which say "beacon". */
      async function insertPosts(count: number, matches: (i: number) => boolean) {
        const rows = Array.from({ length: count }, (_, i) => ({
          id: uuidv7(),
          author_id: authorId,
          title: `Post ${i}`,
          content: matches(i) ? `beacon number ${i}` : `plain number ${i}`,
          created_at: new Date(Date.now() - (i + 1) * 1000),
        }));
        for (let at = 0; at < rows.length; at += 1000) {
          await database.db
            .insertInto('posts')
            .values(rows.slice(at, at + 1000))
            .execute();
        }
        await sql`analyze posts`.execute(database.db);
      }
      const ages = (found: Post[]) => found.map((p) => Number(p.title.split(' ')[1]));

      it('when matches outnumber the window, then only the newest are ranked, a title match first, and the total is estimated', async () => {
        // Posts 0 (newest) to 5 match; the window of 3 holds posts 0 to 2, of which the oldest
        // has the word in its title. Post 5 has it in its title too, but is outside the window.
        await insertPosts(6, () => true);
        await sql`update posts set title = title || ' beacon' where title in ('Post 2', 'Post 5')`.execute(
          database.db,
        );

        const found = await posts.search('beacon', window, 3);

        assert.deepEqual(ages(found.items), [2, 0, 1]);
        assert.equal(found.totalCountEstimated, true);
        assert.ok(found.totalCount >= 4, String(found.totalCount));
        assert.equal(found.reachableCount, 3);
      });

      it('when matches fit the window, then the total is exact and every match is ranked', async () => {
        await insertPosts(5, (i) => i !== 1);

        const found = await posts.search('beacon', window, 4);

        assert.deepEqual(ages(found.items), [0, 2, 3, 4]);
        assert.deepEqual(
          [found.totalCount, found.totalCountEstimated, found.reachableCount],
          [4, false, 4],
        );
      });

      it('when a page starts past the window, then it is empty and still carries the total', async () => {
        await insertPosts(8, () => true);

        const past = await posts.search('beacon', { offset: 6, limit: 3 }, 5);
        const last = await posts.search('beacon', { offset: 3, limit: 3 }, 5);

        assert.deepEqual(past.items, []);
        assert.equal(past.totalCountEstimated, true);
        assert.equal(past.reachableCount, 5);
        assert.deepEqual(ages(last.items), [3, 4]);
      });

      it('when the words are common, rare, or common only among older posts, then the window is the newest matches all the same', async () => {
        // Three tables for the three ways the statement finds the window: a walk of the newest
        // posts (common), the GIN index (rare), and a walk that runs out of its budget (one
        // ranked match here, so WALK_ROWS_PER_MATCH rows) and falls back to the index (common
        // only further back).
        const budget = WALK_ROWS_PER_MATCH;
        const cases = [
          { matches: (i: number) => i % 3 === 0, expected: [0, 3] },
          {
            matches: (i: number) => i === PROBE_ROWS / 2 || i === 2.5 * PROBE_ROWS,
            expected: [PROBE_ROWS / 2, 2.5 * PROBE_ROWS],
          },
          {
            matches: (i: number) => i >= budget && i % 50 === 0,
            expected: [budget, budget + 50],
          },
        ];
        for (const { matches, expected } of cases) {
          await sql`truncate posts`.execute(database.db);
          await insertPosts(3 * PROBE_ROWS, matches);

          const found = await posts.search('beacon', window, 1);

          assert.deepEqual(ages(found.items), expected.slice(0, 1));
          assert.equal(found.totalCountEstimated, true);
          assert.equal(found.reachableCount, 1);
          const wider = await posts.search('beacon', window, 2);
          assert.deepEqual(
            ages(wider.items).sort((a, b) => a - b),
            expected,
          );
        }
      });
    });

    describe('lists', () => {
      it("when an author's posts are listed, then only theirs come, newest first, with the total", async () => {
        const other = await newAuthor();
        const mine = [];
        for (let i = 0; i < 5; i++) mine.push(await posts.create(newPost({ title: `mine ${i}` })));
        await posts.create(newPost({ authorId: other, title: 'theirs' }));

        const walked = await walkPages(2, 5, (offset) =>
          posts.listByAuthor(authorId, { offset, limit: 2 }),
        );

        assert.deepEqual(titles(walked), titles(mine.reverse()));
      });

      it('when posts of several authors are asked for, then each gets its newest, up to the limit', async () => {
        const other = await newAuthor();
        const silent = await newAuthor();
        for (let i = 0; i < 4; i++) {
          await posts.create(newPost({ title: `a${i}` }));
          await posts.create(newPost({ authorId: other, title: `b${i}` }));
        }

        const found = await posts.listByAuthors([authorId, other, silent, authorId], 3);

        const byAuthor = (id: string) => titles(found.filter((p) => p.authorId === id));
        assert.deepEqual(byAuthor(authorId), ['a3', 'a2', 'a1']);
        assert.deepEqual(byAuthor(other), ['b3', 'b2', 'b1']);
        assert.deepEqual(byAuthor(silent), []);
        assert.deepEqual(await posts.listByAuthors([], 3), []);
      });

      it('when posts of many authors are asked for, then it is one statement', async () => {
        const authors = [authorId, await newAuthor(), await newAuthor()];
        for (const id of authors) await posts.create(newPost({ authorId: id }));
        const counted = instrument(database);
        const repository = new PostgresPostsRepository(counted.handle.db);

        counted.reset();
        const found = await repository.listByAuthors(authors, 10);

        assert.equal(found.length, 3);
        assert.deepEqual(counted.statements, ['RawNode']);
      });

      it('when keyset pages are walked while posts share a millisecond, then each post comes once, newest first', async () => {
        const createdAt = new Date('2025-06-01T12:00:00.123Z');
        for (let i = 0; i < 9; i++) await posts.create(newPost({ title: `p${i}` }));
        // Ties on created_at: the id decides, so no post is skipped or repeated at a boundary.
        await sql`update posts set created_at = ${createdAt} where title in ('p2','p3','p4','p5')`.execute(
          database.db,
        );
        const expected = (await posts.list({ offset: 0, limit: 100 })).items.map((p) => p.id);

        const walked: string[] = [];
        let page = await posts.listAfter(undefined, 2);
        while (page.length > 0) {
          walked.push(...page.map((p) => p.id));
          const last = page.at(-1)!;
          page = await posts.listAfter({ createdAt: last.createdAt, id: last.id }, 2);
        }

        assert.deepEqual(walked, expected);
        assert.equal(walked.length, 9);
      });
    });

    describe('seeding', () => {
      it('when posts are seeded in batches, then all arrive, searchable, and a seed repeats its texts', async () => {
        const authors = [authorId, await newAuthor()];
        const texts = async () =>
          (await posts.list({ offset: 0, limit: 100 })).items
            .map((p) => `${p.title}|${p.content}`)
            .sort();

        const inserted = await seedPosts(database.db, authors, 60, { batchSize: 25, seed: 7 });
        const first = await texts();
        await sql`truncate posts`.execute(database.db);
        await seedPosts(database.db, authors, 60, { batchSize: 25, seed: 7 });

        assert.equal(inserted, 60);
        assert.equal(first.length, 60);
        assert.deepEqual(await texts(), first);
        assert.ok((await posts.search('the time', window, rankLimit)).totalCount > 0);
      });
    });

    describe('view counts', () => {
      it('when a batch is applied twice, then it counts once; a deleted post is skipped', async () => {
        const a = await posts.create(newPost());
        const gone = await posts.create(newPost());
        await posts.delete(gone.id);
        const batchId = uuidv7();
        const counts = new Map([
          [a.id, 3],
          [gone.id, 2],
        ]);

        const apply = () =>
          withTransaction(database.db, (tx) => posts.addViews(batchId, counts, tx));

        assert.equal(await apply(), true);
        assert.equal(await apply(), false);
        assert.equal((await posts.findById(a.id))?.viewCount, 3);
      });
    });

    describe('indexes', () => {
      const rowCount = 3000;
      let recorded: ReturnType<typeof recordingDatabase>;
      let recordingPosts: PostgresPostsRepository;
      let authors: string[];

      beforeEach(async () => {
        authors = [authorId];
        for (let i = 1; i < 50; i++) authors.push(await newAuthor());
        // Many posts of fifty authors, one word ("quartz") in a handful: a plausible table to
        // plan for, where reading the GIN index beats reading every row.
        await sql`
          insert into posts (id, author_id, title, content, created_at)
          select gen_random_uuid(), (${authors}::uuid[])[1 + i % 50],
                 'Post ' || i,
                 case when i % 500 = 0 then 'quartz crystals' else 'ordinary words number ' || i end,
                 now() - make_interval(secs => i)
          from generate_series(1, ${rowCount}) as i`.execute(database.db);
        await sql`analyze posts`.execute(database.db);
        recorded = recordingDatabase(database.db);
        recordingPosts = new PostgresPostsRepository(recorded.db);
      });

      it('when posts are searched, then the newest come from the created index and rare words from the GIN index, in one statement', async (t: TestContext) => {
        const query = await recorded.queryOf(() =>
          recordingPosts.search('quartz', window, rankLimit),
        );

        const indexes = ['posts_created_idx', 'posts_search_idx'];
        let plan = await explain(database.db, query);
        if (!indexes.every((index) => usesIndex(plan, index))) {
          // GIN is read through bitmap scans, which explain(…, false) turns off: only seq scans.
          t.diagnostic('planner preferred a seq scan; re-explained with seq scans off');
          plan = await explainWithoutSeqScan(database, query);
        }
        for (const index of indexes) assert.ok(usesIndex(plan, index), JSON.stringify(plan));
      });

      it('when posts are written, then they go straight into the GIN index, with no pending list every search would read', async () => {
        const { rows } = await sql<{ options: string[] | null }>`
          select reloptions as options from pg_class where relname = 'posts_search_idx'`.execute(
          database.db,
        );
        assert.deepEqual(rows[0]?.options, ['fastupdate=off']);
      });

      it("when an author's posts are listed, then the author index gives them in order", async (t: TestContext) => {
        const query = await recorded.queryOf(() =>
          recordingPosts.listByAuthor(authorId, { offset: 0, limit: 20 }),
        );

        await assertIndexServesInOrder(t, database.db, query, 'posts_author_created_idx');
      });

      it('when posts of several authors are asked for, then the author index serves each', async (t: TestContext) => {
        const query = await recorded.queryOf(() =>
          recordingPosts.listByAuthors(authors.slice(0, 3), 5),
        );

        await assertIndexServesInOrder(t, database.db, query, 'posts_author_created_idx');
      });

      it('when a keyset page is read deep in the list, then the created index seeks to it', async (t: TestContext) => {
        const deep = (await posts.list({ offset: 2500, limit: 1 })).items[0]!;
        const query = await recorded.queryOf(() =>
          recordingPosts.listAfter({ createdAt: deep.createdAt, id: deep.id }, 20),
        );

        await assertIndexServesInOrder(t, database.db, query, 'posts_created_idx');
        const plan = await explain(database.db, query);
        assert.ok(usesIndex(plan, 'posts_created_idx'), JSON.stringify(plan));
      });
    });
  });
}

async function explainWithoutSeqScan(
  database: DatabaseHandle,
  query: CompiledQuery,
): Promise<PlanNode> {
  return database.db.transaction().execute(async (tx) => {
    await sql`set local enable_seqscan = off`.execute(tx);
    const { rows } = await tx.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]),
    );
    return rows[0]!['QUERY PLAN'][0].Plan;
  });
}
