import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { ERROR_CODE_LIST, type AppError, type ErrorCode } from '../errors.js';
import { MAX_PAGE_SIZE } from '../paging.js';

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
  code: ErrorCode;
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
      // The catalogue of src/platform/errors.ts: a client may switch on every value listed.
      code: Type.Unsafe<ErrorCode>({
        type: 'string',
        enum: [...ERROR_CODE_LIST],
        maxLength: 64,
        examples: ['NOT_FOUND'],
      }),
      message: Type.String({ maxLength: 1000 }),
      details: Type.Optional(Type.Unknown()),
    }),
    meta: MetaSchema,
  },
  { $id: 'ErrorEnvelope', title: 'ErrorEnvelope' },
);

/** A link is the request's own path and query with another page: bounded by Node's URL limit. */
export const LINK_MAX_LENGTH = 16_384;

/**
 * What a success response documents beside its schema: what it is (the OpenAPI response's
 * description) and an example of its `data`, in the shape the service returns. The envelope
 * around the example is written here, so every example carries the real `meta` and `links`.
 */
export interface ResponseDoc {
  description: string;
  example: unknown;
}

/** The `meta` of every example response. */
export const META_EXAMPLE: Meta = {
  timestamp: '2026-01-15T09:30:00.000Z',
  requestId: '0b9e8f2c-3d4a-4b5c-8d6e-7f8091a2b3c4',
};

/** Schema options that put the description and the enveloped example on a response schema. */
export function documented(description: string, example?: unknown) {
  return example === undefined ? { description } : { description, examples: [example] };
}

export function envelopeSchema<T extends TSchema>(data: T, doc?: ResponseDoc) {
  const options = doc ? documented(doc.description, { data: doc.example, meta: META_EXAMPLE }) : {};
  return Type.Object({ data, meta: MetaSchema }, options);
}

/** A list's example: one page of `items` at `path`, as `paginated` writes it. */
export interface ListDoc {
  description: string;
  example: unknown[];
  path: string;
}

function listExample({ example, path }: ListDoc) {
  const first = `${path}?page=1&pageSize=20`;
  return {
    data: example,
    meta: { ...META_EXAMPLE, page: 1, pageSize: 20, totalPages: 1, totalCount: example.length },
    links: { self: first, next: null, prev: null, first, last: first },
  };
}

export function listEnvelopeSchema<T extends TSchema>(item: T, doc?: ListDoc) {
  const link = Type.Union([Type.String({ maxLength: LINK_MAX_LENGTH }), Type.Null()]);
  const options = doc ? documented(doc.description, listExample(doc)) : {};
  return Type.Object(
    {
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
    },
    options,
  );
}

/** The error responses every route documents, pointing at the shared envelope schema. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('ErrorEnvelope')]));
}
