import type { FastifyInstance } from 'fastify';
import { bearer } from './auth.js';

export interface GraphqlBody<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions: { code: string; details?: unknown } }[];
}

/** POST /graphql as a client sends it, with a Bearer token when given. */
export async function graphql<T = Record<string, unknown>>(
  server: FastifyInstance,
  query: string,
  options: {
    token?: string;
    variables?: Record<string, unknown>;
    headers?: Record<string, string>;
  } = {},
) {
  const res = await server.inject({
    method: 'POST',
    url: '/graphql',
    payload: { query, variables: options.variables },
    headers: { ...(options.token ? bearer(options.token) : {}), ...options.headers },
  });
  return { statusCode: res.statusCode, headers: res.headers, body: res.json<GraphqlBody<T>>() };
}

/** The codes of a response's errors, in order. */
export const codesOf = (body: GraphqlBody<unknown>) =>
  (body.errors ?? []).map((e) => e.extensions.code);
