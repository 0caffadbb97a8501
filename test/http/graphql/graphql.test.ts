import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor } from '../../../src/platform/auth/actor.js';
import { createUserAndLogin } from '../../support/auth.js';
import { codesOf, graphql } from '../../support/graphql.js';
import { cacheSetups, useInstrumentedApp } from '../../support/setups.js';

const embedded = cacheSetups.find((s) => !s.redis)!;
const admin: Actor = { userId: 'system', role: 'admin' };

interface UsersPosts {
  users: { id: string; posts: { title: string; author: { id: string; name: string } }[] }[];
}

describe('GraphQL at /graphql', () => {
  const context = useInstrumentedApp(embedded, {
    // No timers touching the database while statements are counted.
    env: { OUTBOX_POLL_MS: '3600000', FLUSH_INTERVAL_MS: '3600000' },
  });

  /** `count` users with `postsEach` posts each, created through the services. */
  async function authorsWithPosts(count: number, postsEach: number) {
    const { users, posts } = context.app.services;
    const created = [];
    for (let i = 0; i < count; i++) {
      const user = await users.createUser(admin, {
        name: `Author ${i}`,
        email: `author-${i}-${Date.now()}@example.com`,
      });
      for (let p = 0; p < postsEach; p++) {
        await posts.createPost(
          { userId: user.id, role: 'user' },
          { title: `Post ${p} of ${i}`, content: 'Words about things.' },
        );
      }
      created.push(user);
    }
    return created;
  }

  it("when users, their posts and the posts' authors are asked for, then three statements run whatever the limit", async () => {
    await authorsWithPosts(30, 2);
    const query = `query ($n: Int) { users(limit: $n) { id posts { title author { id name } } } }`;
    const counts = [];
    for (const n of [5, 100]) {
      context.db.reset();
      const res = await graphql<UsersPosts>(context.app.server, query, {
        token: context.admin.accessToken,
        variables: { n },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      const users = res.body.data!.users;
      assert.equal(users.length, Math.min(n, 31));
      for (const user of users) {
        for (const post of user.posts) assert.equal(post.author.id, user.id);
      }
      counts.push(context.db.statements.length);
    }
    // The page of users, every listed user's posts, every listed post's author.
    assert.deepEqual(counts, [3, 3]);
  });

  it('when a guest reads posts, then each author shows its public id and name only', async () => {
    const [author] = await authorsWithPosts(1, 1);
    const res = await graphql<{ posts: { author: Record<string, unknown> }[] }>(
      context.app.server,
      '{ posts(limit: 1) { title author { id name } } }',
    );
    assert.deepEqual(res.body.data!.posts[0]!.author, { id: author!.id, name: author!.name });
    const email = await graphql(context.app.server, '{ posts(limit: 1) { author { email } } }');
    assert.deepEqual(codesOf(email.body), ['GRAPHQL_VALIDATION_FAILED']);
  });

  it('when a plain user asks for another user, then NOT_FOUND and no email leaks', async () => {
    const me = await createUserAndLogin(context.app.server, context.app.services);
    const res = await graphql(context.app.server, `{ user(id: "${context.admin.id}") { email } }`, {
      token: me.accessToken,
    });
    assert.deepEqual(res.body.data, { user: null });
    assert.deepEqual(codesOf(res.body), ['NOT_FOUND']);
    assert.doesNotMatch(JSON.stringify(res.body), /@example\.com/);
  });

  it('when the caller asks for their orders and accounts, then the services answer', async () => {
    const me = await createUserAndLogin(context.app.server, context.app.services);
    const res = await graphql<{ me: { accounts: { kind: string; balance: number }[] } }>(
      context.app.server,
      '{ me { email orders { id } accounts { kind currency balance } } }',
      { token: me.accessToken },
    );
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    assert.deepEqual(res.body.data!.me, {
      email: me.email,
      orders: [],
      accounts: [{ kind: 'wallet', currency: 'USD', balance: 0 }],
    });
  });

  it('when posts are searched, then matches come back through the same service', async () => {
    const me = await createUserAndLogin(context.app.server, context.app.services);
    const created = await graphql<{ createPost: { id: string } }>(
      context.app.server,
      'mutation ($input: CreatePostInput!) { createPost(input: $input) { id author { id } } }',
      {
        token: me.accessToken,
        variables: { input: { title: 'Zebras at dusk', content: 'Stripes.' } },
      },
    );
    assert.equal(created.body.errors, undefined, JSON.stringify(created.body.errors));
    const found = await graphql<{ posts: { id: string }[] }>(
      context.app.server,
      '{ posts(search: "zebra") { id } }',
    );
    assert.deepEqual(
      found.body.data!.posts.map((p) => p.id),
      [created.body.data!.createPost.id],
    );
  });

  it('when a limit or an offset is out of range, then VALIDATION_ERROR like REST', async () => {
    for (const args of ['limit: 0', 'limit: 101', 'offset: -1']) {
      const res = await graphql(context.app.server, `{ posts(${args}) { id } }`);
      assert.deepEqual(codesOf(res.body), ['VALIDATION_ERROR'], args);
    }
  });

  it('when operations are sent as a batch, then the request is refused', async () => {
    const res = await context.app.server.inject({
      method: 'POST',
      url: '/graphql',
      payload: [{ query: '{ __typename }' }, { query: '{ __typename }' }],
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(codesOf(res.json()), ['VALIDATION_ERROR']);
  });

  it('when a mutation comes by GET, then 405 METHOD_NOT_ALLOWED', async () => {
    const query = encodeURIComponent(
      'mutation { deletePost(id: "0190a000-0000-7000-8000-000000000000") }',
    );
    const res = await context.app.server.inject({ method: 'GET', url: `/graphql?query=${query}` });
    assert.equal(res.statusCode, 405);
    assert.deepEqual(codesOf(res.json()), ['METHOD_NOT_ALLOWED']);
  });

  it('when the token is bad, then 401 INVALID_TOKEN before anything runs, as in REST', async () => {
    context.db.reset();
    const res = await graphql(context.app.server, '{ posts { id } }', { token: 'not.a.token' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.deepEqual(codesOf(res.body), ['INVALID_TOKEN']);
    assert.equal(context.db.statements.length, 0);
  });

  it('when the client accepts application/graphql-response+json, then a bad document is 400 in that type', async () => {
    const headers = { accept: 'application/graphql-response+json' };
    const res = await graphql(context.app.server, '{ nope }', { headers });
    assert.equal(res.statusCode, 400);
    assert.match(String(res.headers['content-type']), /^application\/graphql-response\+json/);
    assert.equal('data' in res.body, false);
    const plain = await graphql(context.app.server, '{ nope }');
    assert.equal(plain.statusCode, 200);
    assert.deepEqual(codesOf(plain.body), ['GRAPHQL_VALIDATION_FAILED']);
  });

  it('when the query is a JSON syntax tree rather than GraphQL, then it is refused, not a 500', async () => {
    for (const query of ['1', '{}', '{"kind":"Document","definitions":[]}']) {
      const res = await graphql(context.app.server, query);
      assert.equal(res.statusCode, 200, query);
      assert.deepEqual(codesOf(res.body), ['GRAPHQL_VALIDATION_FAILED'], query);
    }
  });
});
