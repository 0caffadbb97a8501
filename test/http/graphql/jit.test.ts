import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { startApp, type StartedApp } from '../../support/app.js';
import { createUserAndLogin, bearer } from '../../support/auth.js';
import { watchCompiledQueries } from '../../support/compiled-queries.js';
import { engines } from '../../support/databases.js';
import type { GraphqlBody } from '../../support/graphql.js';

/**
 * A query compiled with graphql-jit answers as graphql-js answers it. Two apps over one
 * database: one never compiles (GRAPHQL_JIT=0), one compiles a document on its second use
 * (GRAPHQL_JIT=1). Each case first compiles its document on the second app (checked in
 * mercurius' cache), then sends the same inputs to both: same status, same content type, same
 * body, errors and their codes included. The limits are low so that they can be crossed.
 */

const watcher = watchCompiledQueries();
const LIMITS = { GRAPHQL_MAX_DEPTH: '3', GRAPHQL_MAX_ALIASES: '3', GRAPHQL_MAX_COST: '2000' };
const quiet = { OUTBOX_POLL_MS: '3600000', FLUSH_INTERVAL_MS: '3600000' };

type Who = 'guest' | 'user' | 'admin';

interface Input {
  who: Who;
  variables?: Record<string, unknown>;
}

interface Case {
  name: string;
  query: string;
  /** What compiles the document: an input that runs (its errors, if any, come from resolvers). */
  compileWith: Input;
  inputs: Input[];
}

const unknownId = randomUUID();

/** graphql-jit ignores variables' defaults: such documents stay on graphql-js. */
const WITH_DEFAULTS = {
  query: `query ($id: ID! = "${unknownId}", $n: Int = 2) {
    user(id: $id) { id name } users(limit: $n) { id } }`,
  inputs: [
    { who: 'admin' },
    { who: 'admin', variables: {} },
    { who: 'admin', variables: { n: 1 } },
    { who: 'admin', variables: { id: null } },
    { who: 'user', variables: {} },
    { who: 'guest' },
  ] satisfies Input[],
};

const CASES: Case[] = [
  {
    name: 'users with their posts',
    query: `query ($n: Int) {
      users(limit: $n) { id name email role emailVerified createdAt
        posts { id title viewCount createdAt } } }`,
    compileWith: { who: 'admin', variables: { n: 5 } },
    inputs: [
      { who: 'admin', variables: { n: 5 } },
      { who: 'admin', variables: { n: 2 } },
      // Cost 1 + 1000 × …: over GRAPHQL_MAX_COST, checked before the compiled query runs.
      { who: 'admin', variables: { n: 1000 } },
      { who: 'admin', variables: { n: -1 } },
      { who: 'admin', variables: { n: 'five' } },
      { who: 'user', variables: { n: 5 } },
      { who: 'guest', variables: { n: 5 } },
    ],
  },
  {
    name: 'posts with their authors',
    query: 'query ($n: Int) { posts(limit: $n) { id title author { id name } } }',
    compileWith: { who: 'guest', variables: { n: 4 } },
    inputs: [
      { who: 'guest', variables: { n: 4 } },
      { who: 'user', variables: { n: 10 } },
      { who: 'guest', variables: { n: 0 } },
    ],
  },
  {
    name: 'a list argument inside the list',
    query: 'query ($n: Int) { users(limit: 3) { posts(limit: $n) { title } } }',
    compileWith: { who: 'admin', variables: { n: 2 } },
    inputs: [
      { who: 'admin', variables: { n: 2 } },
      { who: 'admin', variables: { n: 0 } },
      { who: 'admin', variables: { n: 500 } },
    ],
  },
  {
    name: 'one user by id',
    query: 'query ($id: ID!) { user(id: $id) { id name } }',
    compileWith: { who: 'admin', variables: { id: unknownId } },
    inputs: [
      { who: 'admin', variables: { id: unknownId } },
      { who: 'admin', variables: { id: 'not-a-uuid' } },
      { who: 'admin', variables: {} },
      { who: 'user', variables: { id: unknownId } },
    ],
  },
  {
    name: 'yourself, with a directive, an alias and a fragment',
    query: `query ($x: Boolean!) { me { ...mine email @include(if: $x) } again: me { __typename } }
      fragment mine on User { id name }`,
    compileWith: { who: 'user', variables: { x: true } },
    inputs: [
      { who: 'user', variables: { x: true } },
      { who: 'user', variables: { x: false } },
      { who: 'guest', variables: { x: true } },
      { who: 'user', variables: { x: 'yes' } },
    ],
  },
  {
    name: 'a mutation refused by the service',
    query: 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
    compileWith: { who: 'user', variables: { input: { name: 'N', email: 'n@example.com' } } },
    inputs: [
      { who: 'user', variables: { input: { name: 'N', email: 'n@example.com' } } },
      { who: 'admin', variables: { input: { name: 'N', email: 'not an email' } } },
      { who: 'admin', variables: { input: { name: 'N' } } },
    ],
  },
];

/**
 * Documents over a limit, refused on every use: depth and aliases by validation (a refused
 * document is never cached, so never compiled), the cost before mercurius compiles.
 */
const OVER_THE_LIMITS = [
  { code: 'QUERY_TOO_DEEP', query: '{ users { posts { author { name } } } }' },
  { code: 'QUERY_TOO_DEEP', query: '{ me { posts { author { ... on Author { id } } } } }' },
  { code: 'TOO_MANY_ALIASES', query: '{ a: me { id } b: me { id } c: me { id } d: me { id } }' },
  { code: 'QUERY_TOO_COMPLEX', query: '{ users(limit: 100) { posts(limit: 100) { title } } }' },
];

describe('GraphQL compiled with graphql-jit answers as graphql-js does', () => {
  let database: DatabaseHandle;
  let interpreted: StartedApp;
  let compiled: StartedApp;
  const tokens: Record<Who, string | undefined> = { guest: undefined, user: '', admin: '' };

  before(async () => {
    database = await engines.find((e) => e.name === 'pglite')!.open();
    interpreted = await startApp(engines[0]!, {
      database,
      env: { ...LIMITS, ...quiet, GRAPHQL_JIT: '0' },
    });
    compiled = await startApp(engines[0]!, {
      database,
      env: { ...LIMITS, ...quiet, GRAPHQL_JIT: '1' },
    });
    const { server, services } = interpreted;
    const [user, admin] = await Promise.all([
      createUserAndLogin(server, services),
      createUserAndLogin(server, services, 'admin'),
    ]);
    tokens.user = user.accessToken;
    tokens.admin = admin.accessToken;
    for (const [i, author] of [user, admin].entries()) {
      for (let p = 0; p < 3; p++) {
        await services.posts.createPost(
          { userId: author.id, role: 'user' },
          { title: `Post ${p} of ${i}`, content: 'Words about things.' },
        );
      }
    }
  });
  after(async () => {
    await compiled?.close();
    await interpreted?.close();
    await database?.close();
  });

  async function send(app: StartedApp, query: string, { who, variables }: Input) {
    const token = tokens[who];
    const res = await app.server.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query, variables },
      headers: token ? bearer(token) : {},
    });
    return {
      status: res.statusCode,
      type: res.headers['content-type'],
      body: res.json<GraphqlBody>(),
    };
  }

  for (const testCase of CASES) {
    it(`when ${testCase.name} runs compiled, then every answer is the interpreted one`, async () => {
      await send(compiled, testCase.query, testCase.compileWith);
      await send(compiled, testCase.query, testCase.compileWith);
      assert.ok(watcher.compiled(testCase.query), 'the document was compiled');
      for (const input of testCase.inputs) {
        const expected = await send(interpreted, testCase.query, input);
        const actual = await send(compiled, testCase.query, input);
        assert.deepEqual(actual, expected, JSON.stringify(input));
      }
      assert.ok(watcher.compiled(testCase.query), 'the document is still compiled');
    });
  }

  it('when a document whose variables have defaults comes again and again without them, then it is answered as graphql-js answers it', async () => {
    for (const input of WITH_DEFAULTS.inputs) {
      const expected = await send(interpreted, WITH_DEFAULTS.query, input);
      for (let use = 0; use < 3; use++) {
        assert.deepEqual(
          await send(compiled, WITH_DEFAULTS.query, input),
          expected,
          JSON.stringify(input),
        );
      }
    }
  });

  for (const { code, query } of OVER_THE_LIMITS) {
    it(`when a document over a limit (${code}) comes again and again, then it is refused alike every time`, async () => {
      const expected = await send(interpreted, query, { who: 'admin' });
      assert.equal(expected.body.errors?.[0]?.extensions.code, code);
      for (let use = 0; use < 3; use++) {
        assert.deepEqual(await send(compiled, query, { who: 'admin' }), expected);
      }
      assert.equal(watcher.compiled(query), false);
    });
  }
});
