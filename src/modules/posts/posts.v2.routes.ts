import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Actor } from '../../platform/auth/actor.js';
import {
  cursorListEnvelopeSchema,
  cursorPageRequest,
  cursorPaginated,
  splitPage,
  withLookahead,
} from '../../platform/http/cursor-pagination.js';
import { envelopeSchema, errorResponses, ok } from '../../platform/http/envelope.js';
import { NotFoundError } from '../../platform/errors.js';
import type { ProfilesService } from '../users/profiles.service.js';
import { PostIdParams } from './posts.schemas.js';
import type { Post, PostsService } from './posts.service.js';
import { ListPostsV2Query, POST_V2_EXAMPLE } from './posts.v2.schemas.js';

const PostV2 = Type.Ref('PostV2');
const tags = ['posts'];
// Posts are public: a token is optional (guests have read:posts).
const security: Record<string, string[]>[] = [{}, { bearerAuth: [] }];

export interface PostsV2Options {
  posts: PostsService;
  profiles: ProfilesService;
  /** Lists count exactly up to this many rows, and estimate above (API_EXACT_COUNT_LIMIT). */
  exactCountLimit: number;
}

/**
 * Posts with their authors (id and name from the public profile, as GraphQL's `Post.author`),
 * the authors of a whole page read in one query. A post whose author is gone was deleted with
 * them (ON DELETE CASCADE) between the two reads: it is left out.
 */
async function withAuthors(profiles: ProfilesService, actor: Actor, posts: Post[]) {
  const authors = await profiles.getProfiles(
    actor,
    posts.map((post) => post.authorId),
  );
  return posts.flatMap(({ authorId, ...post }) => {
    const author = authors.get(authorId);
    return author ? [{ ...post, author: { id: author.id, name: author.name } }] : [];
  });
}

/** Posts in API v2: the same service as v1; cursor pages, and `author { id, name }`. */
export const postsV2Routes: FastifyPluginAsyncTypebox<PostsV2Options> = async (
  app,
  { posts, profiles, exactCountLimit },
) => {
  app.get(
    '/posts',
    {
      schema: {
        tags,
        security,
        summary: 'List posts, newest first, by cursor',
        querystring: ListPostsV2Query,
        response: {
          200: cursorListEnvelopeSchema(PostV2, {
            description: 'One page of posts with their authors, newest first',
            example: [POST_V2_EXAMPLE],
            path: '/api/v2/posts',
          }),
          ...errorResponses(400, 401, 429),
        },
      },
    },
    async (request) => {
      const { actor } = request;
      const page = cursorPageRequest(request.query);
      const rows = await posts.listPostsAfter(actor, withLookahead(page));
      const { items, next } = splitPage(rows, page.limit);
      const total = request.query.include
        ? await posts.countPosts(actor, { exactUpTo: exactCountLimit })
        : undefined;
      const data = await withAuthors(profiles, actor, items);
      return cursorPaginated(request, { limit: page.limit, items: data, next }, total);
    },
  );

  app.get(
    '/posts/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Read a post (counts a view)',
        params: PostIdParams,
        response: {
          200: envelopeSchema(PostV2, {
            description: 'The post with its author',
            example: POST_V2_EXAMPLE,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => {
      const post = await posts.getPost(request.actor, request.params.id);
      const [presented] = await withAuthors(profiles, request.actor, [post]);
      if (!presented) throw new NotFoundError('Post');
      return ok(request, presented);
    },
  );
};
