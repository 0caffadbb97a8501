import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  GraphQLError,
  Kind,
  Location,
  NoSchemaIntrospectionCustomRule,
  type DocumentNode,
} from 'graphql';
import mercurius, { type MercuriusContext } from 'mercurius';
import type { Config } from '../config.js';
import type { ErrorCode } from '../platform/errors.js';
import { formatGraphqlErrors } from './errors.js';
import { registerGraphiql } from './graphiql.js';
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
  | 'graphqlIntrospectionCost'
  | 'graphqlMaxResponseBytes'
  | 'graphqlJit'
>;

/** The operationName a request names, where mercurius reads it (query string for GET). */
function operationNameOf(request: FastifyRequest | undefined): string | undefined {
  const params = request?.method === 'GET' ? request.query : request?.body;
  const name = (params as { operationName?: unknown } | null | undefined)?.operationName;
  // graphql-jit reads an empty name as none; graphql-js as a name no operation has.
  return typeof name === 'string' && name !== '' ? name : undefined;
}

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
    introspectionCost: config.graphqlIntrospectionCost,
  };
  const maxResponseBytes = config.graphqlMaxResponseBytes;
  // Outside the scope below: the page and its files are not GraphQL responses.
  if (config.graphqlGraphiql) registerGraphiql(app, '/graphql');
  // Encapsulated: the content-type hook below concerns the GraphQL routes only.
  await app.register(async (scope) => {
    await scope.register(mercurius, {
      ...assembleSchema(modules),
      path: '/graphql',
      // Its page loads React and GraphiQL from a CDN; registerGraphiql serves them from here.
      graphiql: false,
      allowBatchedQueries: false,
      jit: config.graphqlJit,
      context: (request) => ({ actor: request.actor }),
      // Without introspection, "Did you mean" would map the schema out one typo at a time.
      errorFormatter: (execution, context) =>
        formatGraphqlErrors(execution, context, { suggestions: config.graphqlIntrospection }),
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
    scope.graphql.addHook(
      'preExecution',
      (schema, document, context: MercuriusContext, variables) => {
        checkCost(
          schema,
          document,
          { operationName: operationNameOf(context.reply?.request), variables },
          limits,
        );
        // Handing the document back (unchanged) keeps it off JIT, executed by graphql-js, where
        // graphql-jit would answer otherwise:
        // - mercurius keys a JIT-compiled query by its text and compiles the operation of the
        //   request that happened to compile it, then runs that one whatever a later request's
        //   operationName: another operation than the one measured;
        // - graphql-jit ignores a variable's default value: a required variable with a default,
        //   left out, is refused as "not provided", an optional one is null.
        if (config.graphqlJit > 0 && (operationCount(document) > 1 || hasDefaults(document))) {
          return { document };
        }
      },
    );
    // GraphQL over HTTP allows `"extensions": null`, which mercurius' body schema refuses.
    scope.addHook('preValidation', async (request) => {
      const body = request.body as { extensions?: unknown } | null | undefined;
      if (body && typeof body === 'object' && body.extensions === null) delete body.extensions;
    });
    // Last line behind the cost: an answer over GRAPHQL_MAX_RESPONSE_BYTES is replaced by an
    // error rather than sent (what ran has run; only the answer is withheld).
    scope.addHook('onSend', async (request, reply, payload) => {
      // A UTF-16 unit is at most 3 UTF-8 bytes: only a long string needs its bytes counted.
      if (typeof payload !== 'string' || payload.length * 3 <= maxResponseBytes) return payload;
      const bytes = Buffer.byteLength(payload);
      if (bytes <= maxResponseBytes) return payload;
      reply.log.warn({ bytes, limit: maxResponseBytes }, 'GraphQL response over the size limit');
      void reply.code(wantsGraphqlResponse(request) ? 400 : 200);
      return JSON.stringify({
        errors: [
          {
            message: `The response is larger than the limit of ${maxResponseBytes} bytes`,
            extensions: { code: 'RESPONSE_TOO_LARGE' satisfies ErrorCode },
          },
        ],
      });
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

const operationCount = (document: DocumentNode) =>
  document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;

const hasDefaults = (document: DocumentNode) =>
  document.definitions.some(
    (d) =>
      d.kind === Kind.OPERATION_DEFINITION &&
      (d.variableDefinitions ?? []).some((v) => v.defaultValue !== undefined),
  );
