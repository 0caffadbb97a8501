/**
 * Offset pages as services and repositories speak of them: what a caller asks for
 * (PageRequest) and what it gets (Page). How a page becomes an HTTP answer (links, meta) is
 * src/platform/http/pagination.ts; GraphQL's limit/offset arguments map onto the same request.
 */

/** The most rows one page (REST v1 and v2, GraphQL) may hold. */
export const MAX_PAGE_SIZE = 100;

export interface PageRequest {
  page: number;
  pageSize: number;
  /** Rows to skip, when the caller counts in rows (GraphQL's limit/offset); wins over page. */
  offset?: number;
}

export interface Page<T> {
  items: T[];
  totalCount: number;
  /** True when totalCount is PostgreSQL's estimate, not a count (sent as meta.totalCountEstimated). */
  totalCountEstimated?: boolean;
  /**
   * How many of the rows pages can reach, when fewer than totalCount: a search pages through
   * its ranked window only. totalPages and the links stop there.
   */
  reachableCount?: number;
}

export function offsetOf({ page, pageSize, offset }: PageRequest) {
  return { offset: offset ?? (page - 1) * pageSize, limit: pageSize };
}
