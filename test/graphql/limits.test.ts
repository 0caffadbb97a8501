import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codesOf, graphql } from '../helpers/graphql.js';
import { cacheSetups, useInstrumentedApp } from '../helpers/setups.js';

const embedded = cacheSetups.find((s) => !s.redis)!;

describe('GraphQL limits, checked before any resolver runs', () => {
  const context = useInstrumentedApp(embedded, {
    env: {
      GRAPHQL_MAX_DEPTH: '3',
      GRAPHQL_MAX_ALIASES: '2',
      GRAPHQL_MAX_COST: '500',
      GRAPHQL_INTROSPECTION: 'false',
      GRAPHQL_GRAPHIQL: 'false',
      OUTBOX_POLL_MS: '3600000',
      FLUSH_INTERVAL_MS: '3600000',
    },
  });

  /** Sends the query as the admin and checks that nothing reached the database. */
  async function refused(query: string, variables?: Record<string, unknown>) {
    context.db.reset();
    const res = await graphql(context.app.server, query, {
      token: context.admin.accessToken,
      variables,
    });
    assert.equal(context.db.statements.length, 0, 'no resolver ran');
    assert.equal(res.statusCode, 200);
    assert.equal('data' in res.body, false);
    return res.body;
  }

  async function accepted(query: string, variables?: Record<string, unknown>) {
    const res = await graphql(context.app.server, query, {
      token: context.admin.accessToken,
      variables,
    });
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  }

  it('when a query nests deeper than GRAPHQL_MAX_DEPTH, then QUERY_TOO_DEEP', async () => {
    await accepted('{ me { posts { title } } }');
    const body = await refused('{ me { posts { author { name } } } }');
    assert.deepEqual(codesOf(body), ['QUERY_TOO_DEEP']);
    assert.deepEqual(body.errors![0]!.extensions.details, { depth: 4, limit: 3 });
  });

  it('when fragments hide the depth, then it is counted all the same', async () => {
    const body = await refused(`
      { me { ...mine } }
      fragment mine on User { posts { ... on Post { author { name } } } }`);
    assert.deepEqual(codesOf(body), ['QUERY_TOO_DEEP']);
  });

  it('when a query uses more aliases than GRAPHQL_MAX_ALIASES, then TOO_MANY_ALIASES', async () => {
    await accepted('{ a: me { id } b: me { id } }');
    const body = await refused('{ a: me { id } b: me { id } c: me { id } }');
    assert.deepEqual(codesOf(body), ['TOO_MANY_ALIASES']);
  });

  it('when list sizes multiply past GRAPHQL_MAX_COST, then QUERY_TOO_COMPLEX', async () => {
    // 1 + 20 × (1 + 10 × 1) = 221
    await accepted('{ users(limit: 20) { posts { title } } }');
    // 1 + 50 × (1 + 10 × 1) = 551
    const body = await refused('{ users(limit: 50) { posts { title } } }');
    assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
    assert.deepEqual(body.errors![0]!.extensions.details, { cost: 551, limit: 500 });
  });

  it('when the list size comes in a variable, then the cost uses its value', async () => {
    const query = 'query ($n: Int) { users(limit: $n) { posts(limit: 100) { title } } }';
    await accepted(query, { n: 4 });
    assert.deepEqual(codesOf(await refused(query, { n: 5 })), ['QUERY_TOO_COMPLEX']);
  });

  it('when fragments spread into fragments exponentially, then it is refused at once', async () => {
    const levels = 30;
    const fragments = Array.from(
      { length: levels },
      (_, i) => `fragment f${i} on User { ${i + 1 < levels ? `...f${i + 1} ...f${i + 1}` : 'id'} }`,
    ).join('\n');
    const started = performance.now();
    const body = await refused(`{ me { ...f0 } }\n${fragments}`);
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
  });

  it('when introspection is off, then __schema and __type are refused but __typename works', async () => {
    const body = await refused('{ __schema { queryType { name } } }');
    assert.deepEqual(new Set(codesOf(body)), new Set(['GRAPHQL_VALIDATION_FAILED']));
    assert.match(body.errors![0]!.message, /introspection/i);
    assert.ok(codesOf(await refused('{ __type(name: "User") { name } }')).length > 0);
    await accepted('{ __typename }');
  });

  it('when GraphiQL is off, then /graphiql is 404', async () => {
    const res = await context.app.server.inject({ method: 'GET', url: '/graphiql' });
    assert.equal(res.statusCode, 404);
  });
});
