import { Type, type Static } from 'typebox';
import { PageQuerySchema } from '../../platform/http/pagination.js';
import { USER_EXAMPLE } from '../users/users.schemas.js';

export const TITLE_MAX_LENGTH = 200;
export const CONTENT_MAX_LENGTH = 20_000;
/** Longer search text adds no precision, only work for the parser and the index. */
export const SEARCH_MAX_LENGTH = 200;

// NUL is the one character PostgreSQL text can't store: refused here (400), not by the database.
const noNul = '^[^\\x00]*$';
const Title = Type.String({ minLength: 1, maxLength: TITLE_MAX_LENGTH, pattern: noNul });
const Content = Type.String({ minLength: 1, maxLength: CONTENT_MAX_LENGTH, pattern: noNul });

export const POST_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e02',
  authorId: USER_EXAMPLE.id,
  title: 'Notes on the Analytical Engine',
  content: 'The engine weaves algebraic patterns as the Jacquard loom weaves flowers and leaves.',
  viewCount: 42,
  createdAt: '2026-01-11T10:00:00.000Z',
  updatedAt: '2026-01-11T10:00:00.000Z',
};

export const PostSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    authorId: Type.String({ format: 'uuid' }),
    title: Title,
    content: Content,
    viewCount: Type.Integer({
      minimum: 0,
      description: 'Views as of the last flush (FLUSH_INTERVAL_MS); the latest ones follow',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Post', title: 'Post', examples: [POST_EXAMPLE] },
);

export const PostIdParams = Type.Object({
  id: Type.String({ format: 'uuid', examples: [POST_EXAMPLE.id] }),
});

export const CreatePostBody = Type.Object(
  { title: Title, content: Content },
  {
    additionalProperties: false,
    examples: [{ title: POST_EXAMPLE.title, content: POST_EXAMPLE.content }],
  },
);

export const ReplacePostBody = CreatePostBody;

export const PatchPostBody = Type.Object(
  { title: Type.Optional(Title), content: Type.Optional(Content) },
  {
    additionalProperties: false,
    minProperties: 1,
    examples: [{ title: 'Notes on the Analytical Engine, revised' }],
  },
);

export const ListPostsQuery = Type.Object(
  {
    ...PageQuerySchema,
    q: Type.Optional(
      Type.String({
        maxLength: SEARCH_MAX_LENGTH,
        description:
          'Full-text search (English stemming, web-search syntax: "a phrase", or, -not) over ' +
          'the SEARCH_RANK_LIMIT (200) newest matches, ranked by relevance, a title match ' +
          'above a content match; pages reach those only. meta.totalCount counts every ' +
          'match, estimated above that limit (meta.totalCountEstimated). Blank lists all posts.',
        examples: ['analytical engine'],
      }),
    ),
  },
  { additionalProperties: false },
);

export const ListUserPostsQuery = Type.Object(PageQuerySchema, { additionalProperties: false });

export type CreatePostInput = Static<typeof CreatePostBody>;
export type PatchPostInput = Static<typeof PatchPostBody>;
