import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';

interface CursorList<T> {
  data: T[];
  meta: { limit: number; totalCount?: number; totalCountEstimated?: boolean };
  links: { self: string; next: string | null };
}

interface Item {
  id: string;
}

const admin = { userId: 'system', role: 'admin' as const };

for (const engine of engines) {
  describe(`API v2 lists on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    let caller: TestUser;
    let author: TestUser;

    before(async () => {
      app = await startApp(engine);
      caller = await createUserAndLogin(app.server, app.services, 'admin');
      author = await createUserAndLogin(app.server, app.services);
    });
    after(async () => {
      await app?.close();
    });

    const get = (url: string) =>
      app.server.inject({ method: 'GET', url, headers: bearer(caller.accessToken) });

    const addUser = () =>
      app.services.users.createUser(admin, {
        name: 'Walker',
        email: `w-${randomUUID()}@example.com`,
      });
    const addPost = () =>
      app.services.posts.createPost(
        { userId: author.id, role: 'user' },
        { title: 'A post', content: 'Some words.' },
      );

    /**
     * Follows links.next to the end. `between` starts after each page and runs while the next
     * page is read: the inserts race the reads.
     */
    async function walk(first: string, between: () => Promise<unknown>) {
      const ids: string[] = [];
      let url: string | null = first;
      let inserting: Promise<unknown> = Promise.resolve();
      while (url) {
        const res = await get(url);
        await inserting;
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json<CursorList<Item>>();
        ids.push(...page.data.map((item) => item.id));
        url = page.links.next;
        inserting = between();
      }
      await inserting;
      return ids;
    }

    for (const [resource, add] of [
      ['users', addUser],
      ['posts', addPost],
    ] as const) {
      it(`when ${resource} are walked by cursor while new ones are inserted, then none is skipped or repeated`, async () => {
        for (let i = 0; i < 23; i++) await add();
        const before = await walk(`/api/v2/${resource}?limit=100`, async () => {});
        // Three new rows after every page, inserted while the next page is read.
        const walked = await walk(`/api/v2/${resource}?limit=4`, () =>
          Promise.all([add(), add(), add()]),
        );
        assert.equal(new Set(walked).size, walked.length, 'no row twice');
        assert.deepEqual(walked, before, 'exactly the rows that existed, in order');
      });
    }

    it('when the last page is read, then links.next is null and self is the versioned URL', async () => {
      const res = await app.server.inject({
        method: 'GET',
        url: '/api/posts?limit=100',
        headers: { ...bearer(caller.accessToken), 'api-version': '2' },
      });
      const page = res.json<CursorList<Item>>();
      assert.equal(page.links.self, '/api/v2/posts?limit=100');
      let next = page.links.next;
      while (next) next = (await get(next)).json<CursorList<Item>>().links.next;
      assert.equal(next, null);
    });

    it('when a post is listed or read in v2, then it carries author { id, name } and no authorId', async () => {
      const post = await addPost();
      const list = (await get('/api/v2/posts?limit=1')).json<CursorList<Record<string, unknown>>>();
      const one = (await get(`/api/v2/posts/${post.id}`)).json<{ data: Record<string, unknown> }>();
      for (const shown of [list.data[0]!, one.data]) {
        assert.deepEqual(shown.author, { id: author.id, name: 'Test' });
        assert.equal(shown.authorId, undefined);
        assert.equal(shown.title, 'A post');
      }
      const v1 = (await get(`/api/v1/posts/${post.id}`)).json<{ data: Record<string, unknown> }>();
      assert.equal(v1.data.authorId, author.id);
    });

    it('when a v2 user is read, then it is the v1 representation', async () => {
      const v1 = (await get(`/api/v1/users/${author.id}`)).json<{ data: unknown }>();
      const v2 = (await get(`/api/v2/users/${author.id}`)).json<{ data: unknown }>();
      assert.deepEqual(v2.data, v1.data);
    });

    it('when include=totalCount is absent, then meta has no count; present, an exact one', async () => {
      const plain = (await get('/api/v2/users?limit=1')).json<CursorList<Item>>();
      assert.equal(plain.meta.totalCount, undefined);
      const counted = (await get('/api/v2/users?limit=1&include=totalCount')).json<
        CursorList<Item>
      >();
      const exact = await app.services.users.countUsers(admin, { exactUpTo: 1_000_000 });
      assert.equal(counted.meta.totalCount, exact.count);
      assert.equal(counted.meta.totalCountEstimated, false);
      assert.match(counted.links.next ?? '', /include=totalCount/);
    });

    const bad = [
      'not-base64!',
      Buffer.from('{"createdAt":"yesterday","id":"x"}').toString('base64url'),
      Buffer.from('"just a string"').toString('base64url'),
    ];
    for (const cursor of bad) {
      it(`when the cursor is ${cursor}, then 400 INVALID_CURSOR in the error envelope`, async () => {
        for (const resource of ['users', 'posts']) {
          const res = await get(`/api/v2/${resource}?cursor=${encodeURIComponent(cursor)}`);
          assert.equal(res.statusCode, 400, res.body);
          assert.equal(res.json<{ error: { code: string } }>().error.code, 'INVALID_CURSOR');
        }
      });
    }

    it('when a cursor names a deleted row, then the walk goes on from its position', async () => {
      const page = (await get('/api/v2/users?limit=2')).json<CursorList<Item>>();
      await app.services.users.deleteUser(admin, page.data[1]!.id);
      const res = await get(page.links.next!);
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(
        !res.json<CursorList<Item>>().data.some((u) => page.data.some((p) => p.id === u.id)),
      );
    });

    it('when limit is out of 1..100, then 400 VALIDATION_ERROR', async () => {
      for (const limit of [0, 101]) {
        const res = await get(`/api/v2/users?limit=${limit}`);
        assert.equal(res.statusCode, 400);
        assert.equal(res.json<{ error: { code: string } }>().error.code, 'VALIDATION_ERROR');
      }
    });
  });
}

describe('API v2 counts above API_EXACT_COUNT_LIMIT (PGlite)', () => {
  let app: StartedApp;
  let caller: TestUser;

  before(async () => {
    app = await startApp(engines[0]!, { env: { API_EXACT_COUNT_LIMIT: '3' } });
    caller = await createUserAndLogin(app.server, app.services, 'admin');
    for (let i = 0; i < 6; i++) {
      await app.services.users.createUser(admin, {
        name: 'U',
        email: `c-${randomUUID()}@example.com`,
      });
    }
  });
  after(async () => {
    await app?.close();
  });

  it('when the collection is larger than the limit, then totalCount is an estimate, marked so', async () => {
    const res = await app.server.inject({
      method: 'GET',
      url: '/api/v2/users?include=totalCount',
      headers: bearer(caller.accessToken),
    });
    const { meta } = res.json<CursorList<Item>>();
    assert.equal(meta.totalCountEstimated, true);
    // At least what the bounded count saw (4 rows), whatever the planner's statistics say.
    assert.ok((meta.totalCount ?? 0) > 3, JSON.stringify(meta));
  });
});
