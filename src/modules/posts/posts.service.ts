import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import { authorize, can, requireUser } from '../../platform/auth/permissions.js';
import type { CounterBatch, PendingCounters } from '../../platform/cache/counters.js';
import type { CollectionCount } from '../../platform/db/count.js';
import type { Database } from '../../platform/db/database.js';
import { primaryOnly, type ReplicaSafe } from '../../platform/db/replicas.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { ForbiddenError, NotFoundError } from '../../platform/errors.js';
import { MAX_PAGE_SIZE, offsetOf, type Page, type PageRequest } from '../../platform/paging.js';
import type { Post, PostChanges, PostCursor, PostsRepository } from './posts.repository.js';
import type { CreatePostInput } from './posts.schemas.js';

export type { Post } from './posts.repository.js';

export interface ListPostsInput extends PageRequest {
  /** Full-text search; blank or absent lists every post, newest first. */
  q?: string;
}

export interface ListPostsAfterInput {
  /** The last post of the previous page; absent for the first page. */
  after?: PostCursor;
  limit: number;
}

/** Tells whether a user exists, for the 404 of an unknown user's post list. */
export type UserExists = (actor: Actor, userId: string) => Promise<boolean>;

/**
 * Posts are public: anyone reads them (`read:posts` is granted to guests). `write:posts`
 * creates, with the caller as author. Changing or deleting a post takes its author, or
 * `moderate:posts` (admins). Since anyone can see a post, someone else's post answers 403,
 * not 404: hiding it would hide nothing. A missing post is 404 for everyone.
 *
 * Reads by id count a view (write-behind): pending counters take the increment, and the
 * flusher adds them to posts.view_count in batches through `applyViews`.
 */
export class PostsService {
  constructor(
    private readonly db: Database,
    private readonly posts: PostsRepository,
    private readonly views: PendingCounters,
    private readonly userExists: UserExists,
    /** A search ranks at most this many of its newest matches (SEARCH_RANK_LIMIT). */
    private readonly searchRankLimit: number,
    /** The reads below that may go to a replica: those of pages and of one post by id. */
    private readonly readable: ReplicaSafe<PostsRepository> = primaryOnly(posts),
  ) {}

  /**
   * Newest first; with `q`, the matches ranked by relevance among the searchRankLimit newest of
   * them. Pages reach that window only; past it a page is empty. The total counts every match,
   * estimated (totalCountEstimated) when there are more than the window holds.
   */
  async listPosts(actor: Actor, input: ListPostsInput): Promise<Page<Post>> {
    authorize(actor, 'read:posts');
    const q = input.q?.trim();
    const window = offsetOf(input);
    const posts = await this.readable(actor);
    return q ? posts.search(q, window, this.searchRankLimit) : posts.list(window);
  }

  async getPost(actor: Actor, id: string): Promise<Post> {
    authorize(actor, 'read:posts');
    const post = await (await this.readable(actor)).findById(id);
    if (!post) throw new NotFoundError('Post');
    await this.countView(id);
    return post;
  }

  async createPost(actor: Actor, input: CreatePostInput): Promise<Post> {
    authorize(actor, 'write:posts');
    requireUser(actor);
    return this.posts.create({
      id: uuidv7(),
      authorId: actor.userId,
      title: input.title,
      content: input.content,
    });
  }

  async updatePost(actor: Actor, id: string, input: PostChanges): Promise<Post> {
    await this.requireEditable(actor, id);
    const updated = await this.posts.update(id, { title: input.title, content: input.content });
    // Deleted between the check and the update.
    if (!updated) throw new NotFoundError('Post');
    return updated;
  }

  async deletePost(actor: Actor, id: string): Promise<void> {
    await this.requireEditable(actor, id);
    if (!(await this.posts.delete(id))) throw new NotFoundError('Post');
  }

  /** A user's posts, newest first; an unknown user is 404, a user without posts an empty page. */
  async listUserPosts(actor: Actor, userId: string, input: PageRequest): Promise<Page<Post>> {
    authorize(actor, 'read:posts');
    const page = await (await this.readable(actor)).listByAuthor(userId, offsetOf(input));
    // Only an empty page raises the question, so the common case costs one statement.
    if (page.items.length === 0 && !(await this.userExists(actor, userId))) {
      throw new NotFoundError('User');
    }
    return page;
  }

  /**
   * The newest posts of each author (up to `limitPerAuthor`, default MAX_PAGE_SIZE), in ONE
   * statement whatever the number of authors: GraphQL's loader batches `User.posts` with it.
   * Every requested id is in the map, with [] for an author without posts.
   */
  async postsByAuthors(
    actor: Actor,
    authorIds: readonly string[],
    limitPerAuthor = MAX_PAGE_SIZE,
  ): Promise<Map<string, Post[]>> {
    authorize(actor, 'read:posts');
    const byAuthor = new Map<string, Post[]>(authorIds.map((id) => [id, []]));
    for (const post of await this.posts.listByAuthors(authorIds, limitPerAuthor)) {
      byAuthor.get(post.authorId)?.push(post);
    }
    return byAuthor;
  }

  /** A keyset page, newest first: the cost of a page does not grow with its depth. */
  async listPostsAfter(actor: Actor, input: ListPostsAfterInput): Promise<Post[]> {
    authorize(actor, 'read:posts');
    return (await this.readable(actor)).listAfter(input.after, input.limit);
  }

  /** How many posts listPostsAfter pages through: exact up to `exactUpTo`, estimated above. */
  async countPosts(actor: Actor, input: { exactUpTo: number }): Promise<CollectionCount> {
    authorize(actor, 'read:posts');
    return this.posts.count(input.exactUpTo);
  }

  /** The flusher's apply step: one transaction per batch. */
  async applyViews(batch: CounterBatch): Promise<void> {
    await withTransaction(this.db, (tx) => this.posts.addViews(batch.id, batch.counts, tx), {
      retries: 3,
    });
  }

  /** Writes decide on the row as the database has it; the author never changes. */
  private async requireEditable(actor: Actor, id: string): Promise<void> {
    authorize(actor, 'write:posts');
    const post = await this.require(id);
    if (post.authorId !== actor.userId && !can(actor, 'moderate:posts')) {
      throw new ForbiddenError('Only the author or a moderator changes a post');
    }
  }

  private async require(id: string): Promise<Post> {
    const post = await this.posts.findById(id);
    if (!post) throw new NotFoundError('Post');
    return post;
  }

  private async countView(id: string) {
    try {
      await this.views.increment(id);
    } catch {
      // A view counted while Redis is unreachable is dropped: a counter is not worth a 5xx.
    }
  }
}
