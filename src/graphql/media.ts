import type { FastifyRequest } from 'fastify';

/** GraphQL over HTTP's own media type; plain application/json stays the default. */
export const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json';

/**
 * Whether the client asked for application/graphql-response+json: then request errors are
 * 4xx without a `data` entry, and the response says so in its content type.
 */
export function wantsGraphqlResponse(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes(GRAPHQL_RESPONSE_TYPE);
}
