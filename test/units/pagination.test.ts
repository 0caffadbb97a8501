import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { offsetOf } from '../../src/platform/paging.js';
import { paginated } from '../../src/platform/http/pagination.js';
import { fakeRequest } from '../support/fake-request.js';

/** The page number a link points at, or null for no link. */
function pageOf(link: string | null): number | null {
  return link === null ? null : Number(new URL(link, 'http://x').searchParams.get('page'));
}

function list(url: string, page: number, pageSize: number, totalCount: number) {
  const items = Array.from({ length: Math.min(pageSize, totalCount) }, (_, i) => i);
  return paginated(fakeRequest(url), { page, pageSize }, { items, totalCount });
}

describe('paginated', () => {
  it('when on a middle page, then every link points at its page', () => {
    const { meta, links } = list('/api/v1/users?page=2&pageSize=10', 2, 10, 45);
    assert.deepEqual(
      { page: meta.page, pageSize: meta.pageSize, totalPages: meta.totalPages },
      { page: 2, pageSize: 10, totalPages: 5 },
    );
    assert.equal(meta.totalCount, 45);
    assert.equal(links.self, '/api/v1/users?page=2&pageSize=10');
    assert.equal(links.first, '/api/v1/users?page=1&pageSize=10');
    assert.equal(links.prev, '/api/v1/users?page=1&pageSize=10');
    assert.equal(links.next, '/api/v1/users?page=3&pageSize=10');
    assert.equal(links.last, '/api/v1/users?page=5&pageSize=10');
  });

  it('when on the first page, then prev is null', () => {
    const { links } = list('/api/v1/users', 1, 20, 45);
    assert.equal(links.prev, null);
    assert.equal(links.next, '/api/v1/users?page=2');
  });

  it('when on the last page, then next is null', () => {
    const { links } = list('/api/v1/users?page=3', 3, 20, 45);
    assert.equal(links.next, null);
    assert.equal(links.last, '/api/v1/users?page=3');
  });

  it('when the collection is empty, then there is one (empty) page and no next or prev', () => {
    const { meta, links } = list('/api/v1/users', 1, 20, 0);
    assert.equal(meta.totalPages, 0);
    assert.equal(links.next, null);
    assert.equal(links.prev, null);
    assert.equal(links.last, '/api/v1/users?page=1');
  });

  it('when the page is past the end, then next is null and prev points at the last page', () => {
    const { meta, links } = list('/api/v1/users?page=9', 9, 20, 45);
    assert.equal(meta.page, 9);
    assert.equal(links.self, '/api/v1/users?page=9');
    assert.equal(links.next, null);
    assert.equal(links.prev, '/api/v1/users?page=3');
  });

  it('when the query has other parameters, then the links keep them and change only page', () => {
    const { links } = list('/api/v1/users?status=active&sort=-name&page=2&pageSize=5', 2, 5, 50);
    assert.equal(links.next, '/api/v1/users?status=active&sort=-name&page=3&pageSize=5');
    assert.equal(links.first, '/api/v1/users?status=active&sort=-name&page=1&pageSize=5');
  });

  it('when pages reach fewer rows than the total, then totalPages and the links stop there, with the estimated flag', () => {
    const result = {
      items: [1],
      totalCount: 70_000,
      totalCountEstimated: true,
      reachableCount: 45,
    };
    const { meta, links } = paginated(
      fakeRequest('/api/v1/posts?q=x'),
      { page: 1, pageSize: 20 },
      result,
    );

    assert.deepEqual(
      {
        totalCount: meta.totalCount,
        totalPages: meta.totalPages,
        estimated: meta.totalCountEstimated,
      },
      { totalCount: 70_000, totalPages: 3, estimated: true },
    );
    assert.equal(pageOf(links.last), 3);
    assert.equal(pageOf(links.next), 2);
  });

  it('when the page does not say whether its count is exact, then meta has no estimated flag', () => {
    assert.equal('totalCountEstimated' in list('/api/v1/users', 1, 20, 45).meta, false);
  });

  it('when the query repeats page, then the links carry a single page parameter', () => {
    const { links } = list('/api/v1/users?page=2&page=7', 2, 10, 100);
    assert.equal(links.next, '/api/v1/users?page=3');
  });

  it('for any total, page size and page, then the meta and links agree', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 2_000 }),
        (totalCount, pageSize, page) => {
          const { meta, links } = list('/api/v1/users?status=active', page, pageSize, totalCount);
          const totalPages = Math.ceil(totalCount / pageSize);
          assert.equal(meta.totalPages, totalPages);
          assert.equal(pageOf(links.self), page);
          assert.equal(pageOf(links.first), 1);
          assert.equal(pageOf(links.last), Math.max(totalPages, 1));
          assert.equal(pageOf(links.next), page < totalPages ? page + 1 : null);
          assert.equal(links.prev === null, page === 1);
          if (page <= totalPages) {
            assert.equal(links.next === null, page === totalPages, 'next null exactly on the last');
          }
          const prev = pageOf(links.prev);
          if (prev !== null) assert.ok(prev >= 1 && prev <= Math.max(totalPages, 1));
          for (const link of Object.values(links)) {
            if (link !== null) assert.match(link, /^\/api\/v1\/users\?status=active&page=\d+$/);
          }
        },
      ),
    );
  });

  it('for any page request, then offsetOf skips exactly the earlier pages', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100 }), (p, s) => {
        assert.deepEqual(offsetOf({ page: p, pageSize: s }), { offset: (p - 1) * s, limit: s });
      }),
    );
  });

  it('for any other query parameters, then every link keeps them, in order', () => {
    const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== 'page');
    const pair = fc.tuple(key, fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 6 }), (pairs) => {
        const query = new URLSearchParams(pairs).toString();
        const { links } = list(`/api/v1/users?${query}`, 2, 10, 100);
        for (const link of Object.values(links)) {
          if (link === null) continue;
          const kept = new URL(link, 'http://x').searchParams;
          kept.delete('page');
          assert.deepEqual([...kept], pairs);
        }
      }),
    );
  });
});
