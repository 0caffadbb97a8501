import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import type { Post } from '../../src/modules/posts/posts.service.js';
import { anonymous } from '../../src/platform/auth/actor.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';
import { cacheSetups, useInstrumentedApp } from '../support/setups.js';

type PostBody = Omit<Post, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };
interface ListBody {
  data: PostBody[];
  meta: {
    totalCount: number;
    totalCountEstimated?: boolean;
    page: number;
    pageSize: number;
    totalPages: number;
  };
  links: { self: string; next: string | null; prev: string | null; last: string };
}

/** A search ranks this many of its newest matches here: small, so a test can exceed it. */
const SEARCH_RANK_LIMIT = 5;

for (const setup of cacheSetups) {
  describe(`posts over HTTP on ${setup.name}`, { skip: setup.skip }, () => {
    const context = useInstrumentedApp(setup, {
      // Flushes only when a test asks: the counts are checked exactly. The body limit lets the
      // longest content arrive, so the schema's limit is what refuses a longer one.
      env: {
        FLUSH_INTERVAL_MS: '3600000',
        BODY_LIMIT_BYTES: '65536',
        SEARCH_RANK_LIMIT: String(SEARCH_RANK_LIMIT),
      },
    });
    const inject = (options: InjectOptions) => context.app.server.inject(options);
    const newUser = () => createUserAndLogin(context.app.server, context.app.services);

    async function write(author: TestUser, title: string, content = 'Some words.') {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/posts',
        headers: bearer(author.accessToken),
        payload: { title, content },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<{ data: PostBody }>().data;
    }
    const search = (q: string) =>
      inject({ method: 'GET', url: `/api/v1/posts?q=${encodeURIComponent(q)}&pageSize=100` });

    it('when a user writes a post, then 201 with a Location that reads it back, authored by them', async () => {
      const author = await newUser();
      const res = await inject({
        method: 'POST',
        url: '/api/v1/posts',
        headers: bearer(author.accessToken),
        payload: { title: 'First', content: 'Hello there.' },
      });

      assert.equal(res.statusCode, 201, res.body);
      const post = res.json<{ data: PostBody }>().data;
      assert.equal(res.headers.location, `/api/v1/posts/${post.id}`);
      assert.equal(post.authorId, author.id);
      assert.equal(post.viewCount, 0);
      const read = await inject({ method: 'GET', url: res.headers.location });
      assert.equal(read.statusCode, 200);
      assert.equal(read.json<{ data: PostBody }>().data.title, 'First');
    });

    it('when a post breaks a limit or names its author, then 400 and nothing is stored', async () => {
      const author = await newUser();
      for (const payload of [
        { title: '', content: 'x' },
        { title: 'x'.repeat(201), content: 'x' },
        { title: 'x', content: '' },
        { title: 'x', content: 'x'.repeat(20_001) },
        { title: 'nul \u0000 inside', content: 'x' },
        { title: 'x', content: 'x', authorId: randomUUID() },
        { title: 'x' },
      ]) {
        const res = await inject({
          method: 'POST',
          url: '/api/v1/posts',
          headers: bearer(author.accessToken),
          payload,
        });
        assert.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60));
        assert.equal(res.json<{ error: { code: string } }>().error.code, 'VALIDATION_ERROR');
      }
      const mine = await inject({ method: 'GET', url: `/api/v1/users/${author.id}/posts` });
      assert.equal(mine.json<ListBody>().meta.totalCount, 0);
    });

    it('when the author patches, replaces and deletes, then each applies; others get 403, admins may', async () => {
      const author = await newUser();
      const other = await newUser();
      const post = await write(author, 'Draft', 'Body.');
      const url = `/api/v1/posts/${post.id}`;
      const as = (user: TestUser, method: 'PATCH' | 'PUT' | 'DELETE', payload?: object) =>
        inject({ method, url, headers: bearer(user.accessToken), payload });

      const patched = await as(author, 'PATCH', { title: 'Edited' });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual(
        [
          patched.json<{ data: PostBody }>().data.title,
          patched.json<{ data: PostBody }>().data.content,
        ],
        ['Edited', 'Body.'],
      );
      const denied = await as(other, 'PATCH', { title: 'Hijacked' });
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json<{ error: { code: string } }>().error.code, 'FORBIDDEN');
      assert.equal((await as(other, 'DELETE')).statusCode, 403);
      const moderated = await as(context.admin, 'PUT', { title: 'Moderated', content: 'Cleaned.' });
      assert.equal(moderated.statusCode, 200);
      assert.equal(moderated.json<{ data: PostBody }>().data.authorId, author.id);
      assert.equal((await as(author, 'DELETE')).statusCode, 204);
      assert.equal((await inject({ method: 'GET', url })).statusCode, 404);
    });

    it('when a post does not exist, then read, change and delete are 404 for everyone', async () => {
      const user = await newUser();
      const url = `/api/v1/posts/${randomUUID()}`;
      assert.equal((await inject({ method: 'GET', url })).statusCode, 404);
      for (const actor of [user, context.admin]) {
        const headers = bearer(actor.accessToken);
        const patch = await inject({ method: 'PATCH', url, headers, payload: { title: 'x' } });
        assert.equal(patch.statusCode, 404);
        assert.equal(patch.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');
        assert.equal((await inject({ method: 'DELETE', url, headers })).statusCode, 404);
      }
    });

    it("when a user's posts are listed, then only theirs, newest first; an unknown user is 404", async () => {
      const author = await newUser();
      const other = await newUser();
      for (const title of ['one', 'two', 'three']) await write(author, title);
      await write(other, 'not theirs');

      const res = await inject({ method: 'GET', url: `/api/v1/users/${author.id}/posts` });

      assert.equal(res.statusCode, 200);
      assert.deepEqual(
        res.json<ListBody>().data.map((p) => p.title),
        ['three', 'two', 'one'],
      );
      const silent = await newUser();
      const empty = await inject({ method: 'GET', url: `/api/v1/users/${silent.id}/posts` });
      assert.equal(empty.statusCode, 200);
      assert.deepEqual(empty.json<ListBody>().data, []);
      const unknown = await inject({ method: 'GET', url: `/api/v1/users/${randomUUID()}/posts` });
      assert.equal(unknown.statusCode, 404);
    });

    it('when a guest searches, then title matches come first and stems match, paginated with q in the links', async () => {
      const author = await newUser();
      const tag = `zq${randomUUID().slice(0, 8)}`;
      await write(author, `Running ${tag}`, 'Morning laps.');
      await write(author, 'Notes', `We run ${tag} on Sundays.`);
      await write(author, 'Unrelated', 'Nothing to see.');

      const res = await inject({
        method: 'GET',
        url: `/api/v1/posts?q=${encodeURIComponent(`runs ${tag}`)}&pageSize=1`,
      });

      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<ListBody>();
      assert.equal(body.meta.totalCount, 2);
      assert.equal(body.meta.totalCountEstimated, false);
      assert.equal(body.data[0]?.title, `Running ${tag}`);
      assert.ok(body.links.next?.includes(`q=runs+${tag}`), body.links.next ?? 'no next link');
    });

    it('when a search matches more posts than it ranks, then pages stop at the newest ones and the total is marked estimated', async () => {
      const author = await newUser();
      const tag = `zq${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < SEARCH_RANK_LIMIT + 2; i++) await write(author, `${tag} ${i}`);
      const page = async (n: number) => {
        const res = await inject({
          method: 'GET',
          url: `/api/v1/posts?q=${tag}&pageSize=2&page=${n}`,
        });
        assert.equal(res.statusCode, 200, res.body);
        return res.json<ListBody>();
      };

      const pages = [await page(1), await page(2), await page(3)];
      const past = await page(4);

      const { meta, links } = pages[0]!;
      assert.equal(meta.totalCountEstimated, true);
      assert.ok(meta.totalCount > SEARCH_RANK_LIMIT, String(meta.totalCount));
      assert.equal(meta.totalPages, 3);
      assert.ok(links.last.includes('page=3'), links.last);
      assert.equal(pages[2]!.links.next, null);
      const titles = pages.flatMap((p) => p.data.map((post) => post.title)).sort();
      assert.deepEqual(
        titles,
        [2, 3, 4, 5, 6].map((i) => `${tag} ${i}`),
      );
      assert.deepEqual(past.data, []);
      assert.equal(past.meta.totalCountEstimated, true);
      assert.ok(past.links.prev?.includes('page=3'), past.links.prev ?? 'no prev link');
    });

    it('when the search text is hostile or odd, then 200 with results or none, never a 500', async () => {
      const author = await newUser();
      await write(author, 'Drop table tips', 'Posts on how to drop a table, safely.');
      const inputs = [
        "'; drop table posts; --",
        '"unclosed',
        'a & | ! :*',
        '!!!',
        '-',
        'or',
        'the',
        '   ',
        '',
        '%00',
        'naïve café 東京 🚀 مرحبا',
        "' OR 1=1 --",
        'x'.repeat(200),
        Array.from({ length: 200 }, (_, i) => '!&|:*()"\'-<>\\'[i % 13]).join(''),
      ];
      for (const q of inputs) {
        const res = await search(q);
        assert.equal(res.statusCode, 200, `${JSON.stringify(q)}: ${res.body}`);
        assert.ok(Array.isArray(res.json<ListBody>().data));
      }
      assert.ok((await search("'; drop table posts; --")).json<ListBody>().meta.totalCount >= 1);
      const tooLong = await search('x'.repeat(201));
      assert.equal(tooLong.statusCode, 400);
      // Text the database can't hold is refused like any other input, not searched for.
      for (const q of ['\u0000nul', 'two\u0000nuls\u0000']) {
        const res = await search(q);
        assert.equal(res.statusCode, 400, `${JSON.stringify(q)}: ${res.body}`);
        assert.equal(res.json<{ error: { code: string } }>().error.code, 'VALIDATION_ERROR');
      }
    });

    it('when a post is read, then the view is counted and shows after a flush', async () => {
      const author = await newUser();
      const post = await write(author, 'Popular');
      const read = () => inject({ method: 'GET', url: `/api/v1/posts/${post.id}` });

      await Promise.all(Array.from({ length: 50 }, read));
      assert.equal((await read()).json<{ data: PostBody }>().data.viewCount, 0);
      await context.app.viewFlusher.flush();

      assert.equal((await read()).json<{ data: PostBody }>().data.viewCount, 51);
    });

    it("when GraphQL's loader asks for many authors' posts, then one SQL statement answers", async () => {
      const authors = await Promise.all([newUser(), newUser(), newUser()]);
      for (const author of authors) await write(author, 'Loaded');
      const ids = authors.map((a) => a.id);

      context.db.reset();
      const byAuthor = await context.app.services.posts.postsByAuthors(anonymous, ids);

      assert.equal(context.db.statements.length, 1, context.db.statements.join());
      assert.deepEqual(
        ids.map((id) => byAuthor.get(id)?.map((p) => p.title)),
        [['Loaded'], ['Loaded'], ['Loaded']],
      );
    });
  });
}
