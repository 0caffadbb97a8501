import type { FastifyInstance } from 'fastify';
import { GraphQLError, Location, NoSchemaIntrospectionCustomRule } from 'graphql';
import mercurius from 'mercurius';
import type { Config } from '../config.js';
import { formatGraphqlErrors } from './errors.js';
import { checkCost, depthAndAliasRule } from './limits.js';
import { GRAPHQL_RESPONSE_TYPE, wantsGraphqlResponse } from './media.js';
import type { GraphqlModule } from './module.js';
import { assembleSchema } from './schema.js';

type GraphqlSettings = Pick<
  Config,
  | 'graphqlGraphiql'
  | 'graphqlIntrospection'
  | 'graphqlMaxDepth'
  | 'graphqlMaxAliases'
  | 'graphqlMaxCost'
>;

/**
 * POST and GET /graphql (and /graphiql when GRAPHQL_GRAPHIQL is on). It sits behind the same
 * onRequest hooks as REST (request id, authentication into request.actor, rate limit), so a
 * GraphQL request is one request to every limit. Batched operations (an array of operations
 * in one body) are off: each would run past the rate limit and the per-operation limits as one.
 */
export async function registerGraphql(
  app: FastifyInstance,
  config: GraphqlSettings,
  modules: GraphqlModule[],
) {
  const limits = {
    maxDepth: config.graphqlMaxDepth,
    maxAliases: config.graphqlMaxAliases,
    maxCost: config.graphqlMaxCost,
  };
  // Encapsulated: the content-type hook below concerns the GraphQL routes only.
  await app.register(async (scope) => {
    await scope.register(mercurius, {
      ...assembleSchema(modules),
      path: '/graphql',
      graphiql: config.graphqlGraphiql,
      allowBatchedQueries: false,
      context: (request) => ({ actor: request.actor }),
      errorFormatter: formatGraphqlErrors,
      validationRules: [
        depthAndAliasRule(limits),
        ...(config.graphqlIntrospection ? [] : [NoSchemaIntrospectionCustomRule]),
      ],
    });
    // mercurius reads a query that isn't GraphQL as a JSON syntax tree, which nothing here
    // expects (`"query": "1"` would be a 500): only what GraphQL's parser produced (it alone
    // sets a Location) goes on.
    scope.graphql.addHook('preValidation', (_schema, document) => {
      if (!(document.loc instanceof Location)) {
        throw new GraphQLError('Syntax Error: the query is not a GraphQL document');
      }
    });
    scope.graphql.addHook('preExecution', (schema, document, _context, variables) => {
      checkCost(schema, document, variables, limits.maxCost);
    });
    // GraphQL over HTTP allows `"extensions": null`, which mercurius' body schema refuses.
    scope.addHook('preValidation', async (request) => {
      const body = request.body as { extensions?: unknown } | null | undefined;
      if (body && typeof body === 'object' && body.extensions === null) delete body.extensions;
    });
    scope.addHook('onSend', async (request, reply, payload) => {
      const type = reply.getHeader('content-type');
      if (wantsGraphqlResponse(request) && String(type).startsWith('application/json')) {
        void reply.header('content-type', `${GRAPHQL_RESPONSE_TYPE}; charset=utf-8`);
      }
      return payload;
    });
  });
}
