import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';

export interface Meta {
  timestamp: string;
  requestId: string;
}

export function meta(request: FastifyRequest): Meta {
  return { timestamp: new Date().toISOString(), requestId: request.id };
}

/** `{ data, meta }`: the body of every successful response that has one. */
export function ok<T>(request: FastifyRequest, data: T) {
  return { data, meta: meta(request) };
}

const MetaSchema = Type.Object({
  timestamp: Type.String({ format: 'date-time' }),
  requestId: Type.String(),
});

export const ErrorEnvelopeSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ examples: ['NOT_FOUND'] }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
    meta: MetaSchema,
  },
  { $id: 'ErrorEnvelope', title: 'ErrorEnvelope' },
);

export function envelopeSchema<T extends TSchema>(data: T) {
  return Type.Object({ data, meta: MetaSchema });
}

export function listEnvelopeSchema<T extends TSchema>(item: T) {
  const link = Type.Union([Type.String(), Type.Null()]);
  return Type.Object({
    data: Type.Array(item),
    meta: Type.Object({
      timestamp: Type.String({ format: 'date-time' }),
      requestId: Type.String(),
      page: Type.Integer(),
      pageSize: Type.Integer(),
      totalPages: Type.Integer(),
      totalCount: Type.Integer(),
    }),
    links: Type.Object({ self: link, next: link, prev: link, first: link, last: link }),
  });
}

/** The error responses every route documents, pointing at the shared envelope schema. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('ErrorEnvelope')]));
}
