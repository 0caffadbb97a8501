import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import type { CollectionCount } from '../db/count.js';
import type { Keyset } from '../db/keyset.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { MAX_PAGE_SIZE } from '../paging.js';
import {
  documented,
  LINK_MAX_LENGTH,
  meta,
  META_EXAMPLE,
  MetaSchema,
  type ListDoc,
} from './envelope.js';

/** v2 lists: a cursor instead of a page number, and a count only when asked for. */

export const CursorQuerySchema = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20, examples: [20] }),
  ),
  cursor: Type.Optional(
    Type.String({
      maxLength: 256,
      description:
        'Opaque: copy it from links.next. One this API did not issue is 400 INVALID_CURSOR.',
      // A position far in the past: the page after it is empty, whatever the data.
      examples: [
        encodeCursor({
          createdAt: new Date('2000-01-01T00:00:00.000Z'),
          id: '00000000-0000-4000-8000-000000000000',
        }),
      ],
    }),
  ),
  include: Type.Optional(
    Type.Literal('totalCount', {
      description:
        'Adds meta.totalCount: exact up to API_EXACT_COUNT_LIMIT rows (10,000 by default), ' +
        "PostgreSQL's estimate above it (meta.totalCountEstimated: true).",
      examples: ['totalCount'],
    }),
  ),
};

export interface CursorPageRequest {
  after?: Keyset;
  limit: number;
}

export function cursorPageRequest(query: { cursor?: string; limit?: number }): CursorPageRequest {
  const limit = query.limit ?? 20;
  return query.cursor === undefined ? { limit } : { after: decodeCursor(query.cursor), limit };
}

/** What a list asks its service for: one row more than the page, to learn if a next page exists. */
export function withLookahead(page: CursorPageRequest): CursorPageRequest {
  return { ...page, limit: page.limit + 1 };
}

/** The page's rows and, when the lookahead row came back, the position the next page starts after. */
export function splitPage<T extends Keyset>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last ? last : undefined };
}

function urlWithCursor(request: FastifyRequest, cursor: string): string {
  const url = new URL(request.url, 'http://placeholder');
  url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}

/**
 * `{ data, meta: { limit, totalCount?, totalCountEstimated? }, links: { self, next } }`. Links
 * use the versioned path even when the request came unversioned with an api-version header.
 */
export function cursorPaginated<T>(
  request: FastifyRequest,
  page: { limit: number; items: T[]; next?: Keyset },
  total?: CollectionCount,
) {
  const counted = total && { totalCount: total.count, totalCountEstimated: total.estimated };
  const self = new URL(request.url, 'http://placeholder');
  return {
    data: page.items,
    meta: { ...meta(request), limit: page.limit, ...counted },
    links: {
      self: `${self.pathname}${self.search}`,
      next: page.next ? urlWithCursor(request, encodeCursor(page.next)) : null,
    },
  };
}

/** The example of a v2 list: one page of `example` at `path`, the last one. */
function cursorListExample({ example, path }: ListDoc) {
  return {
    data: example,
    meta: { ...META_EXAMPLE, limit: 20, totalCount: example.length, totalCountEstimated: false },
    links: { self: `${path}?limit=20&include=totalCount`, next: null },
  };
}

export function cursorListEnvelopeSchema<T extends TSchema>(item: T, doc?: ListDoc) {
  const options = doc ? documented(doc.description, cursorListExample(doc)) : {};
  return Type.Object(
    {
      data: Type.Array(item, { maxItems: MAX_PAGE_SIZE }),
      meta: Type.Object({
        ...MetaSchema.properties,
        limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE }),
        totalCount: Type.Optional(Type.Integer({ minimum: 0 })),
        totalCountEstimated: Type.Optional(Type.Boolean()),
      }),
      links: Type.Object({
        self: Type.String({ maxLength: LINK_MAX_LENGTH }),
        next: Type.Union([Type.String({ maxLength: LINK_MAX_LENGTH }), Type.Null()], {
          description: 'The next page; null on the last one',
        }),
      }),
    },
    options,
  );
}
