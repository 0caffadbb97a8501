import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { locationOf } from '../../platform/http/location.js';
import {
  envelopeSchema,
  errorResponses,
  listEnvelopeSchema,
  ok,
} from '../../platform/http/envelope.js';
import { paginated } from '../../platform/http/pagination.js';
import { USER_EXAMPLE, UserIdParams } from '../users/users.schemas.js';
import {
  CreatePostBody,
  ListPostsQuery,
  ListUserPostsQuery,
  PatchPostBody,
  POST_EXAMPLE,
  PostIdParams,
  ReplacePostBody,
} from './posts.schemas.js';
import type { PostsService } from './posts.service.js';

const PostRef = Type.Ref('Post');
const tags = ['posts'];
const security = [{ bearerAuth: [] }];
// Anyone may read posts; a token is accepted but changes nothing.
const optionalSecurity: Record<string, string[]>[] = [{}, { bearerAuth: [] }];

/** The posts controller: HTTP in, service call, envelope out. No rules here. */
export const postsRoutes: FastifyPluginAsyncTypebox<{ posts: PostsService }> = async (
  app,
  { posts },
) => {
  app.get(
    '/posts',
    {
      schema: {
        tags,
        security: optionalSecurity,
        summary: 'List or search posts, newest or most relevant first (anyone)',
        querystring: ListPostsQuery,
        response: {
          200: listEnvelopeSchema(PostRef, {
            description: 'One page of posts, or of the matches of q',
            example: [POST_EXAMPLE],
            path: '/api/v1/posts',
          }),
          ...errorResponses(400, 429),
        },
      },
    },
    async (request) => {
      const { page = 1, pageSize = 20, q } = request.query;
      const result = await posts.listPosts(request.actor, { page, pageSize, q });
      return paginated(request, { page, pageSize }, result);
    },
  );

  app.get(
    '/posts/:id',
    {
      schema: {
        tags,
        security: optionalSecurity,
        summary: 'Read a post (anyone); counts a view',
        params: PostIdParams,
        response: {
          200: envelopeSchema(PostRef, { description: 'The post', example: POST_EXAMPLE }),
          ...errorResponses(400, 404, 429),
        },
      },
    },
    async (request) => ok(request, await posts.getPost(request.actor, request.params.id)),
  );

  app.post(
    '/posts',
    {
      schema: {
        tags,
        security,
        summary: 'Write a post as the caller (write:posts)',
        body: CreatePostBody,
        response: {
          201: envelopeSchema(PostRef, {
            description: 'The post written; Location is its address',
            example: { ...POST_EXAMPLE, viewCount: 0 },
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const post = await posts.createPost(request.actor, request.body);
      return reply
        .status(201)
        .header('location', locationOf(app.prefix, 'posts', post.id))
        .send(ok(request, post));
    },
  );

  app.put(
    '/posts/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Replace a post (its author, or moderate:posts)',
        params: PostIdParams,
        body: ReplacePostBody,
        response: {
          200: envelopeSchema(PostRef, {
            description: 'The post as replaced',
            example: POST_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) =>
      ok(request, await posts.updatePost(request.actor, request.params.id, request.body)),
  );

  app.patch(
    '/posts/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Change the title or content of a post (its author, or moderate:posts)',
        params: PostIdParams,
        body: PatchPostBody,
        response: {
          200: envelopeSchema(PostRef, {
            description: 'The post as changed',
            example: { ...POST_EXAMPLE, title: 'Notes on the Analytical Engine, revised' },
          }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) =>
      ok(request, await posts.updatePost(request.actor, request.params.id, request.body)),
  );

  app.delete(
    '/posts/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Delete a post (its author, or moderate:posts)',
        params: PostIdParams,
        response: {
          204: Type.Null({ description: 'Deleted' }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      await posts.deletePost(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/users/:id/posts',
    {
      schema: {
        tags,
        security: optionalSecurity,
        summary: "List a user's posts, newest first (anyone)",
        params: UserIdParams,
        querystring: ListUserPostsQuery,
        response: {
          200: listEnvelopeSchema(PostRef, {
            description: "One page of the user's posts",
            example: [POST_EXAMPLE],
            path: `/api/v1/users/${USER_EXAMPLE.id}/posts`,
          }),
          ...errorResponses(400, 404, 429),
        },
      },
    },
    async (request) => {
      const { page = 1, pageSize = 20 } = request.query;
      const result = await posts.listUserPosts(request.actor, request.params.id, {
        page,
        pageSize,
      });
      return paginated(request, { page, pageSize }, result);
    },
  );
};
