import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import type { AppError } from './errors.js';

export const MAX_PAGE_SIZE = 100;

export interface Meta {
  timestamp: string;
  requestId: string;
}

export function meta(request: FastifyRequest): Meta {
  return metaOf(request.id);
}

function metaOf(requestId: string): Meta {
  return { timestamp: new Date().toISOString(), requestId };
}

/** What a client is told of an error: REST's envelope and GraphQL's extensions are made of it. */
export interface ErrorFields {
  code: string;
  message: string;
  details?: unknown;
}

export function errorFields(error: AppError): ErrorFields {
  const fields: ErrorFields = { code: error.code, message: error.message };
  if (error.details !== undefined) fields.details = error.details;
  return fields;
}

/**
 * `{ error, meta }`: the body of every error answer, built here alone for every place that
 * answers one (the error handler, the not-found and framework handlers, the client-error
 * handler that answers before any request exists, stored idempotent replays).
 */
export function errorEnvelope(requestId: string, error: AppError) {
  return { error: errorFields(error), meta: metaOf(requestId) };
}

/** `{ data, meta }`: the body of every successful response that has one. */
export function ok<T>(request: FastifyRequest, data: T) {
  return { data, meta: meta(request) };
}

const RequestId = Type.String({ maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });

export const MetaSchema = Type.Object({
  timestamp: Type.String({ format: 'date-time' }),
  requestId: RequestId,
});

export const ErrorEnvelopeSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ maxLength: 64, pattern: '^[A-Z][A-Z0-9_]*$', examples: ['NOT_FOUND'] }),
      message: Type.String({ maxLength: 1000 }),
      details: Type.Optional(Type.Unknown()),
    }),
    meta: MetaSchema,
  },
  { $id: 'ErrorEnvelope', title: 'ErrorEnvelope' },
);

/** A link is the request's own path and query with another page: bounded by Node's URL limit. */
export const LINK_MAX_LENGTH = 16_384;

export function envelopeSchema<T extends TSchema>(data: T) {
  return Type.Object({ data, meta: MetaSchema });
}

export function listEnvelopeSchema<T extends TSchema>(item: T) {
  const link = Type.Union([Type.String({ maxLength: LINK_MAX_LENGTH }), Type.Null()]);
  return Type.Object({
    data: Type.Array(item, { maxItems: MAX_PAGE_SIZE }),
    meta: Type.Object({
      ...MetaSchema.properties,
      page: Type.Integer({ minimum: 1 }),
      pageSize: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE }),
      totalPages: Type.Integer({ minimum: 0 }),
      totalCount: Type.Integer({ minimum: 0 }),
      totalCountEstimated: Type.Optional(
        Type.Boolean({
          description:
            "Present on searches: true when totalCount is PostgreSQL's estimate (more matches " +
            'than SEARCH_RANK_LIMIT), false when it is exact',
        }),
      ),
    }),
    links: Type.Object({ self: link, next: link, prev: link, first: link, last: link }),
  });
}

/** The error responses every route documents, pointing at the shared envelope schema. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('ErrorEnvelope')]));
}
