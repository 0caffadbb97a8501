import { Type, type Static } from 'typebox';
import { CursorQuerySchema } from '../../platform/http/cursor-pagination.js';
import { USER_EXAMPLE } from '../users/users.schemas.js';
import { POST_EXAMPLE, PostSchema } from './posts.schemas.js';

/**
 * A post in API v2: `author { id, name }` in place of v1's `authorId`, so a list shows who
 * wrote each post without a request per author.
 */
const { authorId, ...post } = POST_EXAMPLE;
export const POST_V2_EXAMPLE = { ...post, author: { id: authorId, name: USER_EXAMPLE.name } };

export const PostV2Schema = Type.Object(
  {
    ...Type.Omit(PostSchema, ['authorId']).properties,
    author: Type.Object({
      id: PostSchema.properties.authorId,
      name: Type.String({ maxLength: 100 }),
    }),
  },
  { $id: 'PostV2', title: 'PostV2', examples: [POST_V2_EXAMPLE] },
);

export const ListPostsV2Query = Type.Object(CursorQuerySchema, { additionalProperties: false });

export type PostV2 = Static<typeof PostV2Schema>;
