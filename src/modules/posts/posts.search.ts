import { sql, type RawBuilder } from 'kysely';
import { PREPARED } from '../../platform/db/database.js';
import type { PostRow } from './posts.repository.js';

/**
 * The search statement. A search ranks only its `rankLimit` newest matches (the window), so
 * its cost is bounded whatever its words: ranking and counting every match of two common words
 * reads tens of thousands of rows. Which path finds the window cheaply depends on how common the
 * words are, which the planner can't tell (it takes words as independent, and words of one topic
 * are not: it misjudges such pairs tenfold), so the statement looks at the newest posts first:
 *
 * - words common there: walk the newest posts through the (created_at, id) index and stop at
 *   the window's last match, about rankLimit / share rows, recent rows every search shares in
 *   cache;
 * - otherwise the GIN index finds every match (few), and the newest of them fill the window.
 *
 * A walk that runs out of its budget (words common among the newest posts only) falls back to
 * the GIN path, so either way the window holds the newest matches: the path changes the cost,
 * never the result. One match more than the window is fetched: a full window says there are
 * more matches than it holds. Each path runs only when the one before it came up short (the
 * uncorrelated subqueries in their WHERE become one-time filters).
 *
 * The GIN path keeps only each match's ctid, id and time, and reads the tsvector of the window's
 * rows again by ctid (the same row version: one statement, one snapshot): carrying every
 * match's tsvector spilled thousands of them to a temporary file. The text is sent as a named
 * prepared statement (PREPARED): parsed and planned once per connection.
 */

/** The newest posts whose matches tell how common the words are. */
export const PROBE_ROWS = 1_000;
/**
 * The walk reads at most this many rows per ranked match, so it is taken when at least one
 * probed post in this many matches (0.25 %). Around that share, the walk's reads (about 0.5 µs
 * each: recent rows, in cache) cost what the GIN path's reads of every match cost (10 µs or
 * more each: rows anywhere in the table); far below it, the GIN path reads few rows.
 */
export const WALK_ROWS_PER_MATCH = 400;

/**
 * The search's tsquery: websearch syntax accepts any text, and the text is always bound. NUL is
 * the one character PostgreSQL text can't hold (an error, not a miss): it separates words here.
 */
export const tsquery = (query: string) =>
  sql`websearch_to_tsquery('english', ${query.replaceAll('\u0000', ' ')})`;

/** A page row, or (no page) the one row that carries the count. */
export type SearchRow = { [K in keyof PostRow]: PostRow[K] | null } & {
  /** Matches found, at most rankLimit + 1. */
  matched: number;
};

export interface SearchWindow {
  offset: number;
  limit: number;
  rankLimit: number;
}

/**
 * The page of the window ranked by ts_rank_cd (title above content), then newest first, and
 * how many matches the window found, in one statement: a page past the window still gets a
 * row with the count (the left join), whose post columns are null.
 */
export function searchStatement(
  query: string,
  window: SearchWindow,
  columns: readonly (keyof PostRow)[],
): RawBuilder<SearchRow> {
  const { offset, limit, rankLimit } = window;
  const columnsOf = (table: string) => sql.join(columns.map((c) => sql.ref(`${table}.${c}`)));
  const matches = sql`search @@ ${tsquery(query)}`;
  const newest = (rows: number) =>
    sql`(select id, created_at, search from posts order by created_at desc, id desc limit ${rows})`;
  return sql<SearchRow>`${sql.raw(PREPARED)}
    with probe as materialized (
      select count(*) as n from ${newest(PROBE_ROWS)} as newest where ${matches}
    ),
    walked as materialized (
      select id, created_at, search from ${newest(rankLimit * WALK_ROWS_PER_MATCH)} as newest
      where ${matches} and (select n from probe) >= ${Math.ceil(PROBE_ROWS / WALK_ROWS_PER_MATCH)}
      limit ${rankLimit + 1}
    ),
    matching as materialized (
      select ctid, id, created_at from posts
      where ${matches} and (select count(*) from walked) <= ${rankLimit}
    ),
    indexed as (
      select posts.id, posts.created_at, posts.search
      from (select ctid from matching order by created_at desc, id desc limit ${rankLimit + 1}) as newest
      join posts on posts.ctid = newest.ctid
    ),
    candidates as (
      select * from walked where (select count(*) from walked) > ${rankLimit}
      union all
      select * from indexed
    ),
    ranked as (
      select id, created_at, ts_rank_cd(search, ${tsquery(query)}) as rank from candidates
      order by created_at desc, id desc
      limit ${rankLimit}
    ),
    page as (
      select * from ranked order by rank desc, created_at desc, id desc
      offset ${offset} limit ${limit}
    )
    select counted.matched, ${columnsOf('p')}
    from (select count(*)::int as matched from candidates) as counted
    left join lateral (
      select page.rank, ${columnsOf('posts')}
      from page join posts on posts.id = page.id
    ) as p on true
    order by p.rank desc, p.created_at desc, p.id desc`;
}
