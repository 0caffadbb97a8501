import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serverAudits } from 'graphql-http';
import { startApp, type StartedApp } from '../../support/app.js';
import { engines } from '../../support/databases.js';

/**
 * graphql-http's GraphQL-over-HTTP audit against a live server. Every MUST and every SHOULD
 * passes. Some MAYs don't: "MAY use 400 on a number/boolean/array query, operationName or
 * variables" — Fastify's body validation coerces scalars to strings (its Ajv default, shared
 * with REST), so `"query": 1` becomes the document "1", which fails to parse: 200 with
 * GRAPHQL_VALIDATION_FAILED for application/json clients, 400 for graphql-response+json ones.
 */
describe('GraphQL over HTTP audit (graphql-http)', () => {
  let app: StartedApp;
  let url = '';
  before(async () => {
    app = await startApp(engines.find((e) => e.name === 'pglite')!);
    url = `${await app.server.listen({ port: 0, host: '127.0.0.1' })}/graphql`;
  });
  after(() => app.close());

  for (const audit of serverAudits({ url: () => url })) {
    const required = /^(MUST|SHOULD)\b/.test(audit.name);
    it(`${audit.id}: ${audit.name}`, async (t) => {
      const result = await audit.fn();
      const reason = result.status === 'ok' ? '' : result.reason;
      if (required) assert.equal(result.status, 'ok', reason);
      else if (reason) t.diagnostic(`${result.status}: ${reason}`);
    });
  }
});
