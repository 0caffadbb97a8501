import assert from 'node:assert/strict';
import type { Page } from '../../src/platform/paging.js';

/**
 * Reads a list page by page (offset 0, limit, 2·limit, … up to one page past the end), checks
 * that every page reports the same total and holds at most `limit` items, and returns the
 * items in the order read.
 */
export async function walkPages<T>(
  limit: number,
  total: number,
  list: (offset: number) => Promise<Page<T>>,
): Promise<T[]> {
  const walked: T[] = [];
  for (let offset = 0; offset <= total; offset += limit) {
    const page = await list(offset);
    assert.equal(page.totalCount, total);
    assert.ok(page.items.length <= limit);
    walked.push(...page.items);
  }
  return walked;
}

interface ListResponseBody {
  meta: Record<string, unknown>;
  links: Record<string, string | null>;
}

/** Page 2 of 3 at pageSize=2 over 5 rows, as `GET <base>?pageSize=2&page=2` must answer it. */
export function assertSecondOfThreePages(body: ListResponseBody, base: string) {
  assert.deepEqual(
    { ...body.meta, timestamp: undefined, requestId: undefined },
    {
      timestamp: undefined,
      requestId: undefined,
      page: 2,
      pageSize: 2,
      totalPages: 3,
      totalCount: 5,
    },
  );
  assert.deepEqual(body.links, {
    self: `${base}?pageSize=2&page=2`,
    next: `${base}?pageSize=2&page=3`,
    prev: `${base}?pageSize=2&page=1`,
    first: `${base}?pageSize=2&page=1`,
    last: `${base}?pageSize=2&page=3`,
  });
}
