import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { MAX_PAGE_SIZE, type Page, type PageRequest } from '../paging.js';
import { meta } from './envelope.js';

export const PageQuerySchema = {
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, examples: [1] })),
  pageSize: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20, examples: [20] }),
  ),
};

/** Builds the page URL from the request's own path and query, with another page number. */
function pageUrl(request: FastifyRequest, page: number): string {
  const url = new URL(request.url, 'http://placeholder');
  url.searchParams.set('page', String(page));
  return `${url.pathname}${url.search}`;
}

/**
 * `{ data, meta: { page, pageSize, totalPages, totalCount }, links }`, the HTTP conventions'
 * list, with `meta.totalCountEstimated` when the page says whether its count is exact.
 */
export function paginated<T>(request: FastifyRequest, pageRequest: PageRequest, result: Page<T>) {
  const { page, pageSize } = pageRequest;
  const { totalCount, totalCountEstimated } = result;
  const totalPages = Math.ceil((result.reachableCount ?? totalCount) / pageSize);
  const last = Math.max(totalPages, 1);
  const estimated = totalCountEstimated === undefined ? {} : { totalCountEstimated };
  return {
    data: result.items,
    meta: { ...meta(request), page, pageSize, totalPages, totalCount, ...estimated },
    links: {
      self: pageUrl(request, page),
      next: page < totalPages ? pageUrl(request, page + 1) : null,
      prev: page > 1 ? pageUrl(request, Math.min(page - 1, last)) : null,
      first: pageUrl(request, 1),
      last: pageUrl(request, last),
    },
  };
}
