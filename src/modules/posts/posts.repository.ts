import { sql, type Expression, type Selectable, type SqlBool } from 'kysely';
import { countOrEstimate, estimatedCount, type CollectionCount } from '../../platform/db/count.js';
import type { Database } from '../../platform/db/database.js';
import type { PostsTable } from '../../platform/db/schema.js';
import { deleteBatch, olderThan } from '../../platform/db/delete-batch.js';
import type { Tx } from '../../platform/db/transaction.js';
import { searchStatement, tsquery, type SearchRow } from './posts.search.js';

export interface Post {
  id: string;
  authorId: string;
  title: string;
  content: string;
  /** Views as of the last write-behind flush. */
  viewCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export type NewPost = Pick<Post, 'id' | 'authorId' | 'title' | 'content'>;
export type PostChanges = Partial<Pick<Post, 'title' | 'content'>>;

export interface PostCursor {
  createdAt: Date;
  id: string;
}

export interface PageWindow {
  offset: number;
  limit: number;
}

export interface SearchResult {
  /** The page, ranked within the window of the newest matches. */
  items: Post[];
  /** Every match: exact up to the window's size, the planner's estimate above. */
  totalCount: number;
  totalCountEstimated: boolean;
  /** Matches in the window (at most rankLimit): what pages reach. */
  reachableCount: number;
}

/**
 * Storage-neutral interface: plain domain objects in and out; a `Tx` only joins the caller's
 * transaction. PostgresPostsRepository is its PostgreSQL implementation (full-text search,
 * count estimates).
 */
export interface PostsRepository {
  findById(id: string): Promise<Post | undefined>;
  /** Newest first. */
  list(window: PageWindow): Promise<{ items: Post[]; totalCount: number }>;
  /**
   * Full-text matches: the `rankLimit` newest of them, most relevant first (title above
   * content), then newest first.
   */
  search(query: string, window: PageWindow, rankLimit: number): Promise<SearchResult>;
  listByAuthor(
    authorId: string,
    window: PageWindow,
  ): Promise<{ items: Post[]; totalCount: number }>;
  /** Up to `limitPerAuthor` newest posts of each author, in one statement. */
  listByAuthors(authorIds: readonly string[], limitPerAuthor: number): Promise<Post[]>;
  /** The page after the cursor (exclusive), newest first. */
  listAfter(after: PostCursor | undefined, limit: number): Promise<Post[]>;
  /** Exact up to `exactUpTo` posts, an estimate above. */
  count(exactUpTo: number): Promise<CollectionCount>;
  create(post: NewPost): Promise<Post>;
  update(id: string, changes: PostChanges): Promise<Post | undefined>;
  delete(id: string): Promise<boolean>;
  /**
   * Adds a batch of view counts (post id → views) in the caller's transaction and records the
   * batch id with it. Returns false when the batch was already applied (a retry after a
   * crash), in which case nothing changes.
   */
  addViews(batchId: string, counts: Map<string, number>, tx: Tx): Promise<boolean>;
  /** Forgets up to `limit` applied view batches older than `retentionMs`; returns how many. */
  pruneAppliedBatches(retentionMs: number, limit: number): Promise<number>;
}

const columns = [
  'id',
  'author_id',
  'title',
  'content',
  'view_count',
  'created_at',
  'updated_at',
] as const;

export type PostRow = Pick<Selectable<PostsTable>, (typeof columns)[number]>;

function toPost(row: PostRow): Post {
  return {
    id: row.id,
    authorId: row.author_id,
    title: row.title,
    content: row.content,
    viewCount: Number(row.view_count),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const isPostRow = (row: SearchRow): row is SearchRow & PostRow => row.id !== null;

export class PostgresPostsRepository implements PostsRepository {
  constructor(private readonly db: Database) {}

  async findById(id: string) {
    const row = await this.db
      .selectFrom('posts')
      .select(columns)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toPost(row);
  }

  async list({ offset, limit }: PageWindow) {
    // Two statements, not count(*) over (): the window would read every row of the table
    // through the index before LIMIT; this way the page reads only its rows.
    const rows = await this.db
      .selectFrom('posts')
      .select(columns)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
    return { items: rows.map(toPost), totalCount: await this.countWhere() };
  }

  async search(query: string, window: PageWindow, rankLimit: number): Promise<SearchResult> {
    const { rows } = await searchStatement(query, { ...window, rankLimit }, columns).execute(
      this.db,
    );
    const matched = rows[0]?.matched ?? 0;
    // A full window (rankLimit + 1 found) means more matches than were read: counting them
    // would read them all, so the planner estimates.
    const total =
      matched > rankLimit
        ? await estimatedCount(this.db, this.matching(query), matched)
        : { count: matched, estimated: false };
    return {
      items: rows.filter(isPostRow).map(toPost),
      totalCount: total.count,
      totalCountEstimated: total.estimated,
      reachableCount: Math.min(matched, rankLimit),
    };
  }

  async listByAuthor(authorId: string, window: PageWindow) {
    return this.pageWithTotal(sql<SqlBool>`author_id = ${authorId}`, window);
  }

  async listByAuthors(authorIds: readonly string[], limitPerAuthor: number) {
    if (authorIds.length === 0) return [];
    // A lateral subquery per author: each reads its author's newest rows straight from the
    // (author_id, created_at, id) index and stops at the limit, however prolific the author.
    const { rows } = await sql<PostRow>`
      select p.* from unnest(${[...new Set(authorIds)]}::uuid[]) as a(id)
      cross join lateral (
        select ${sql.join(columns.map((c) => sql.ref(c)))} from posts
        where posts.author_id = a.id
        order by created_at desc, id desc
        limit ${limitPerAuthor}
      ) as p`.execute(this.db);
    return rows.map(toPost);
  }

  async listAfter(after: PostCursor | undefined, limit: number) {
    let query = this.db.selectFrom('posts').select(columns);
    // A row comparison, so the (created_at DESC, id DESC) index seeks straight to the cursor.
    if (after)
      query = query.where(sql<boolean>`(created_at, id) < (${after.createdAt}, ${after.id})`);
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toPost);
  }

  async count(exactUpTo: number) {
    return countOrEstimate(this.db, this.db.selectFrom('posts').select('id'), exactUpTo);
  }

  async create(post: NewPost) {
    const row = await this.db
      .insertInto('posts')
      .values({
        id: post.id,
        author_id: post.authorId,
        title: post.title,
        content: post.content,
      })
      .returning(columns)
      .executeTakeFirstOrThrow();
    return toPost(row);
  }

  async update(id: string, changes: PostChanges) {
    const row = await this.db
      .updateTable('posts')
      .set({ ...changes, updated_at: sql`now()` })
      .where('id', '=', id)
      .returning(columns)
      .executeTakeFirst();
    return row && toPost(row);
  }

  async delete(id: string) {
    const result = await this.db.deleteFrom('posts').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async addViews(batchId: string, counts: Map<string, number>, tx: Tx) {
    const views = [...counts.values()].reduce((a, b) => a + b, 0);
    const recorded = await tx
      .insertInto('view_flushes')
      .values({ batch_id: batchId, counters: counts.size, views })
      .onConflict((oc) => oc.column('batch_id').doNothing())
      .returning('batch_id')
      .executeTakeFirst();
    if (!recorded) return false;
    const ids = [...counts.keys()].sort();
    // Rows locked in id order: two flushers touching the same posts can't deadlock. A post
    // deleted since its views were counted simply matches no row.
    await tx
      .selectFrom('posts')
      .select('id')
      .where('id', 'in', ids)
      .orderBy('id')
      .forUpdate()
      .execute();
    const increments = ids.map((id) => counts.get(id)!);
    await sql`
      update posts set view_count = posts.view_count + c.n
      from unnest(${ids}::uuid[], ${increments}::bigint[]) as c(id, n)
      where posts.id = c.id`.execute(tx);
    return true;
  }

  pruneAppliedBatches(retentionMs: number, limit: number) {
    const expired = olderThan(sql.ref('created_at'), retentionMs);
    return deleteBatch(this.db, 'view_flushes', 'batch_id', expired, limit);
  }

  private matching(query: string) {
    return this.db
      .selectFrom('posts')
      .select('id')
      .where(sql<SqlBool>`search @@ ${tsquery(query)}`);
  }

  /**
   * The matching page, newest first, and the total in the same statement: count(*) over () is
   * computed before LIMIT.
   */
  private async pageWithTotal(filter: Expression<SqlBool>, { offset, limit }: PageWindow) {
    const rows = await this.db
      .selectFrom('posts')
      .select([...columns, sql<number>`(count(*) over ())::int`.as('total_count')])
      .where(filter)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
    // A page past the end has no rows to carry the total: count on its own.
    const totalCount =
      rows.length === 0 && offset > 0 ? await this.countWhere(filter) : (rows[0]?.total_count ?? 0);
    return { items: rows.map(toPost), totalCount };
  }

  private async countWhere(filter?: Expression<SqlBool>): Promise<number> {
    let query = this.db.selectFrom('posts').select(sql<number>`count(*)::int`.as('n'));
    if (filter) query = query.where(filter);
    return (await query.executeTakeFirstOrThrow()).n;
  }
}
