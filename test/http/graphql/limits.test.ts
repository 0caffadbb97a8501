import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { bearer } from '../../support/auth.js';
import { codesOf, type GraphqlBody } from '../../support/graphql.js';
import { cacheSetups, useInstrumentedApp, type InstrumentedApp } from '../../support/setups.js';

const embedded = cacheSetups.find((s) => !s.redis)!;

const quiet = { OUTBOX_POLL_MS: '3600000', FLUSH_INTERVAL_MS: '3600000' };

interface Request {
  variables?: Record<string, unknown>;
  operationName?: string;
  headers?: Record<string, string>;
}

/** The helpers of a suite: each refused query is sent twice, so JIT's compiling request is too. */
function client(context: InstrumentedApp) {
  async function send(query: string, { variables, operationName, headers }: Request = {}) {
    const res = await context.app.server.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query, variables, operationName },
      headers: { ...bearer(context.admin.accessToken), ...headers },
    });
    return { statusCode: res.statusCode, body: res.json<GraphqlBody>() };
  }

  /** Sends the query as the admin, twice, and checks that nothing reached the database. */
  async function refused(query: string, request?: Request) {
    let body: GraphqlBody | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      context.db.reset();
      const res = await send(query, request);
      assert.equal(context.db.statements.length, 0, 'no resolver ran');
      assert.equal(res.statusCode, 200);
      assert.equal('data' in res.body, false, JSON.stringify(res.body));
      if (body) assert.deepEqual(res.body, body, 'the same answer every time');
      body = res.body;
    }
    return body!;
  }

  /** Sends the query twice (the second time compiles it under JIT), expecting no error. */
  async function accepted(query: string, request?: Request) {
    let body: GraphqlBody | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await send(query, request);
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      body = res.body;
    }
    return body!;
  }

  return { send, refused, accepted };
}

const messagesOf = (body: GraphqlBody) => (body.errors ?? []).map((e) => e.message);

for (const jit of ['0', '1']) {
  describe(`GraphQL limits, checked before any resolver runs (GRAPHQL_JIT=${jit})`, () => {
    const context = useInstrumentedApp(embedded, {
      env: {
        GRAPHQL_MAX_DEPTH: '3',
        GRAPHQL_MAX_ALIASES: '2',
        GRAPHQL_MAX_COST: '500',
        GRAPHQL_INTROSPECTION: 'false',
        GRAPHQL_GRAPHIQL: 'false',
        GRAPHQL_JIT: jit,
        ...quiet,
      },
    });
    const { send, refused, accepted } = client(context);

    it('when a query nests deeper than GRAPHQL_MAX_DEPTH, then QUERY_TOO_DEEP', async () => {
      await accepted('{ me { posts { title } } }');
      const body = await refused('{ me { posts { author { name } } } }');
      assert.deepEqual(codesOf(body), ['QUERY_TOO_DEEP']);
      assert.deepEqual(body.errors![0]!.extensions.details, { depth: 4, limit: 3 });
    });

    it('when __typename is the deepest field, then it counts in the depth', async () => {
      await accepted('{ me { posts { __typename } } }');
      assert.deepEqual(codesOf(await refused('{ me { posts { author { __typename } } } }')), [
        'QUERY_TOO_DEEP',
      ]);
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

    it('when aliases of __typename pass GRAPHQL_MAX_ALIASES, then TOO_MANY_ALIASES', async () => {
      await accepted('{ me { a: __typename b: __typename } }');
      const body = await refused(
        '{ posts(limit: 100) { a: __typename b: __typename c: __typename } }',
      );
      assert.deepEqual(codesOf(body), ['TOO_MANY_ALIASES']);
      assert.deepEqual(body.errors![0]!.extensions.details, { aliases: 3, limit: 2 });
    });

    it('when list sizes multiply past GRAPHQL_MAX_COST, then QUERY_TOO_COMPLEX', async () => {
      // 1 + 20 × (1 + 10 × 1) = 221
      await accepted('{ users(limit: 20) { posts { title } } }');
      // 1 + 50 × (1 + 10 × 1) = 551
      const body = await refused('{ users(limit: 50) { posts { title } } }');
      assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
      assert.deepEqual(body.errors![0]!.extensions.details, { cost: 551, limit: 500 });
    });

    it('when a list selects many __typename fields, then each adds to the cost', async () => {
      // 1 + 100 × 4 = 401
      await accepted('{ users(limit: 100) { a: __typename b: __typename id name } }');
      // 1 + 100 × 5 = 501
      const body = await refused(
        '{ users(limit: 100) { a: __typename b: __typename __typename id name } }',
      );
      assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
      assert.deepEqual(body.errors![0]!.extensions.details, { cost: 501, limit: 500 });
    });

    it('when the list size comes in a variable, then the cost uses its value', async () => {
      const query = 'query ($n: Int) { users(limit: $n) { posts(limit: 100) { title } } }';
      await accepted(query, { variables: { n: 4 } });
      assert.deepEqual(codesOf(await refused(query, { variables: { n: 5 } })), [
        'QUERY_TOO_COMPLEX',
      ]);
    });

    it("when a variable's default puts the cost over GRAPHQL_MAX_COST, then QUERY_TOO_COMPLEX", async () => {
      const query = 'query ($l: Int = 100) { users(limit: $l) { posts(limit: $l) { title } } }';
      await accepted(query, { variables: { l: 2 } });
      const body = await refused(query);
      assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
      // 1 + 100 × (1 + 100 × 1)
      assert.deepEqual(body.errors![0]!.extensions.details, { cost: 10_101, limit: 500 });
    });

    it("when variables don't coerce, then GRAPHQL_VALIDATION_FAILED before execution", async () => {
      const query = 'query ($n: Int) { users(limit: $n) { id } }';
      await accepted(query, { variables: { n: 1 } });
      const wrongType = await refused(query, { variables: { n: 'many' } });
      assert.deepEqual(codesOf(wrongType), ['GRAPHQL_VALIDATION_FAILED']);
      assert.match(wrongType.errors![0]!.message, /\$n/);
      const missing = await refused('query ($n: Int!) { users(limit: $n) { id } }');
      assert.deepEqual(codesOf(missing), ['GRAPHQL_VALIDATION_FAILED']);
      const body = await refused(
        'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }',
        { variables: { id: context.admin.id, input: { name: 'x', nickname: 'y' } } },
      );
      assert.deepEqual(codesOf(body), ['GRAPHQL_VALIDATION_FAILED']);
    });

    describe('when the document holds several operations', () => {
      const document = `
        query Cheap { me { id } }
        query Dear { users(limit: 50) { posts { title } } }`;

      it("then the selected one's cost is what counts", async () => {
        await accepted(document, { operationName: 'Cheap' });
        const body = await refused(document, { operationName: 'Dear' });
        assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
        assert.deepEqual(body.errors![0]!.extensions.details, { cost: 551, limit: 500 });
      });

      it('then a GET names it in the query string', async () => {
        const get = (operationName: string) =>
          context.app.server.inject({
            method: 'GET',
            url: '/graphql',
            query: { query: document, operationName },
            headers: bearer(context.admin.accessToken),
          });
        assert.equal((await get('Cheap')).json<GraphqlBody>().errors, undefined);
        context.db.reset();
        assert.deepEqual(codesOf((await get('Dear')).json<GraphqlBody>()), ['QUERY_TOO_COMPLEX']);
        assert.equal(context.db.statements.length, 0);
      });

      it('then one not named, or named but absent, is GRAPHQL_VALIDATION_FAILED', async () => {
        assert.deepEqual(codesOf(await refused(document)), ['GRAPHQL_VALIDATION_FAILED']);
        const unknown = await refused(document, { operationName: 'Other' });
        assert.deepEqual(codesOf(unknown), ['GRAPHQL_VALIDATION_FAILED']);
      });

      it('then a later request runs the operation it names, never one run before', async () => {
        const mixed = `
          query Wide($n: Int = 1) { users(limit: $n) { posts(limit: 100) { title } } }
          query Narrow { me { id } }`;
        await accepted(mixed, { operationName: 'Wide' });
        for (let attempt = 0; attempt < 2; attempt++) {
          const res = await send(mixed, { operationName: 'Narrow', variables: { n: 100 } });
          assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
          assert.deepEqual(res.body.data, { me: { id: context.admin.id } });
        }
      });
    });

    it('when fragments spread into fragments exponentially, then it is refused at once', async () => {
      const levels = 30;
      const fragments = Array.from(
        { length: levels },
        (_, i) =>
          `fragment f${i} on User { ${i + 1 < levels ? `...f${i + 1} ...f${i + 1}` : 'id'} }`,
      ).join('\n');
      const started = performance.now();
      const body = await refused(`{ me { ...f0 } }\n${fragments}`);
      assert.ok(performance.now() - started < 2000);
      assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
    });

    it('when introspection is off, then __schema and __type are refused but __typename works', async () => {
      const body = await refused('{ __schema { queryType { name } } }');
      assert.deepEqual(new Set(codesOf(body)), new Set(['GRAPHQL_VALIDATION_FAILED']));
      assert.match(body.errors![0]!.message, /introspection/i);
      assert.ok(codesOf(await refused('{ __type(name: "User") { name } }')).length > 0);
      await accepted('{ __typename }');
    });

    it('when introspection is off, then a misspelt field gets no "Did you mean"', async () => {
      const body = await refused('{ me { nam } }');
      assert.deepEqual(codesOf(body), ['GRAPHQL_VALIDATION_FAILED']);
      assert.deepEqual(messagesOf(body), ['Cannot query field "nam" on type "User".']);
      const argument = await refused('{ users(limt: 1) { id } }');
      assert.doesNotMatch(messagesOf(argument).join('\n'), /Did you mean|limit/);
    });

    it('when introspection is off, then a misspelt enum value gets no "Did you mean"', async () => {
      const literal = await refused(
        `mutation { updateUser(id: "${context.admin.id}", input: { role: admn }) { id } }`,
      );
      assert.deepEqual(codesOf(literal), ['GRAPHQL_VALIDATION_FAILED']);
      assert.doesNotMatch(messagesOf(literal).join('\n'), /Did you mean|admin/);
      const variable = await refused(
        'mutation ($role: Role) { updateUser(id: "x", input: { role: $role }) { id } }',
        {
          variables: { role: 'admn' },
        },
      );
      assert.deepEqual(codesOf(variable), ['GRAPHQL_VALIDATION_FAILED']);
      assert.match(messagesOf(variable)[0]!, /admn/);
      assert.doesNotMatch(messagesOf(variable).join('\n'), /Did you mean|admin/);
      const field = await refused(
        'mutation ($input: UpdateUserInput!) { updateUser(id: "x", input: $input) { id } }',
        { variables: { input: { nme: 'x' } } },
      );
      assert.doesNotMatch(messagesOf(field).join('\n'), /Did you mean|"name"/);
    });

    it('when GraphiQL is off, then /graphiql is 404', async () => {
      const res = await context.app.server.inject({ method: 'GET', url: '/graphiql' });
      assert.equal(res.statusCode, 404);
    });
  });

  describe(`GraphQL introspection under the default limits (GRAPHQL_JIT=${jit})`, () => {
    const context = useInstrumentedApp(embedded, {
      env: {
        GRAPHQL_INTROSPECTION: 'true',
        GRAPHQL_JIT: jit,
        BODY_LIMIT_BYTES: String(64 * 1024),
        ...quiet,
      },
    });
    const { refused, accepted } = client(context);
    const standard = getIntrospectionQuery();
    const fragments = standard.slice(standard.indexOf('fragment FullType'));
    const operation = standard.slice(0, standard.indexOf('fragment FullType'));
    const schemaWalk = operation.slice(operation.indexOf('__schema'), operation.lastIndexOf('}'));

    it("when GraphiQL's introspection query comes, then it is answered", async () => {
      const body = await accepted(standard);
      assert.ok((body.data as { __schema: { types: unknown[] } }).__schema.types.length > 0);
    });

    it('when 20 aliased copies of the schema are asked for, then QUERY_TOO_COMPLEX', async () => {
      const copies = Array.from({ length: 20 }, (_, i) => `s${i}: ${schemaWalk}`).join('\n');
      const body = await refused(`query {\n${copies}\n}\n${fragments}`);
      assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
      assert.deepEqual(body.errors![0]!.extensions.details, { cost: 20_000, limit: 5000 });
    });

    it('when the schema is walked again inside itself, then QUERY_TOO_COMPLEX', async () => {
      const copies = Array.from({ length: 5 }, (_, i) => `t${i}: types { name }`).join(' ');
      assert.deepEqual(codesOf(await refused(`{ __schema { ${copies} } }`)), ['QUERY_TOO_COMPLEX']);
      // Within graphql-js' own bound on `fields` nesting, yet every type × field × field × arg.
      const recursive = '{ __schema { types { fields { type { fields { args { name } } } } } } }';
      const body = await refused(recursive);
      assert.deepEqual(codesOf(body), ['QUERY_TOO_COMPLEX']);
      assert.deepEqual(body.errors![0]!.extensions.details, { cost: 10_000, limit: 5000 });
    });

    it('when introspection is on, then suggestions are kept', async () => {
      const body = await refused('{ me { nam } }');
      assert.match(messagesOf(body)[0]!, /Did you mean "name"\?/);
    });
  });

  describe(`GraphQL responses over GRAPHQL_MAX_RESPONSE_BYTES (GRAPHQL_JIT=${jit})`, () => {
    const context = useInstrumentedApp(embedded, {
      env: {
        GRAPHQL_INTROSPECTION: 'true',
        GRAPHQL_MAX_RESPONSE_BYTES: '1000',
        GRAPHQL_JIT: jit,
        ...quiet,
      },
    });
    const { send, accepted } = client(context);
    const large = '{ __schema { types { name description } } }';

    it('when the answer is larger, then RESPONSE_TOO_LARGE in its place', async () => {
      await accepted('{ me { id name } }');
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await send(large);
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.body, {
          errors: [
            {
              message: 'The response is larger than the limit of 1000 bytes',
              extensions: { code: 'RESPONSE_TOO_LARGE' },
            },
          ],
        });
      }
    });

    it('when the client takes application/graphql-response+json, then it is 400', async () => {
      const res = await send(large, {
        headers: { accept: 'application/graphql-response+json' },
      });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(codesOf(res.body), ['RESPONSE_TOO_LARGE']);
    });
  });
}
