import { Type, type Static } from 'typebox';
import { PageQuerySchema } from '../../platform/http/pagination.js';

export const TITLE_MAX_LENGTH = 200;
export const CONTENT_MAX_LENGTH = 20_000;
/** Longer search text adds no precision, only work for the parser and the index. */
export const SEARCH_MAX_LENGTH = 200;

// NUL is the one character PostgreSQL text can't store: refused here (400), not by the database.
const noNul = '^[^\\x00]*$';
const Title = Type.String({ minLength: 1, maxLength: TITLE_MAX_LENGTH, pattern: noNul });
const Content = Type.String({ minLength: 1, maxLength: CONTENT_MAX_LENGTH, pattern: noNul });

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
  { $id: 'Post', title: 'Post' },
);

export const PostIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const CreatePostBody = Type.Object(
  { title: Title, content: Content },
  { additionalProperties: false },
);

export const ReplacePostBody = CreatePostBody;

export const PatchPostBody = Type.Object(
  { title: Type.Optional(Title), content: Type.Optional(Content) },
  { additionalProperties: false, minProperties: 1 },
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
      }),
    ),
  },
  { additionalProperties: false },
);

export const ListUserPostsQuery = Type.Object(PageQuerySchema, { additionalProperties: false });

export type CreatePostInput = Static<typeof CreatePostBody>;
export type PatchPostInput = Static<typeof PatchPostBody>;
