import type { MercuriusContext } from 'mercurius';
import { Type } from 'typebox';
import { argumentsChecker, checkId, pageOf } from '../../graphql/arguments.js';
import type { GraphqlModule } from '../../graphql/module.js';
import { MAX_PAGE_SIZE } from '../../platform/paging.js';
import type { ProfilesService } from '../users/profiles.service.js';
import type { User } from '../users/users.repository.js';
import type { Post } from './posts.repository.js';
import {
  CreatePostBody,
  ListPostsQuery,
  PatchPostBody,
  type CreatePostInput,
  type PatchPostInput,
} from './posts.schemas.js';
import type { PostsService } from './posts.service.js';

/**
 * Posts over GraphQL. `User.posts` and `Post.author` are loaders: however many users or posts
 * a response lists, each is one statement per request (PostsService.postsByAuthors,
 * ProfilesService.getProfiles). The author is the public `Author` (id and name), visible to
 * anyone who may read the post, guests included.
 */
const typeDefs = `
  type Post {
    id: ID!
    title: String!
    content: String!
    "Views as of the last write-behind flush."
    viewCount: Int!
    createdAt: DateTime!
    updatedAt: DateTime!
    author: Author!
  }

  input CreatePostInput {
    title: String!
    content: String!
  }

  input UpdatePostInput {
    title: String
    content: String
  }

  extend type User {
    "The newest posts of this user."
    posts(limit: Int = 10): [Post!]!
  }

  extend type Query {
    "Anyone; counts a view."
    post(id: ID!): Post
    "Newest first, or with search: the SEARCH_RANK_LIMIT newest full-text matches, most relevant first."
    posts(limit: Int = 20, offset: Int = 0, search: String): [Post!]!
  }

  extend type Mutation {
    "write:posts; you are the author."
    createPost(input: CreatePostInput!): Post!
    "The author, or moderate:posts; others get FORBIDDEN."
    updatePost(id: ID!, input: UpdatePostInput!): Post!
    "The author, or moderate:posts; true once deleted."
    deletePost(id: ID!): Boolean!
  }
`;

const checkCreate = argumentsChecker(CreatePostBody);
const checkUpdate = argumentsChecker(PatchPostBody);
const checkSearch = argumentsChecker(ListPostsQuery, 'args');
const checkPerUser = argumentsChecker(
  Type.Object({ limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE }) }),
  'args',
);

type Ctx = MercuriusContext;
type PostsArgs = { limit: number; offset: number; search?: string | null };

function searchOf(search: string | null | undefined): string | undefined {
  if (search === undefined || search === null) return undefined;
  return checkSearch({ q: search }).q;
}

/** Authors' posts, one statement per distinct `limit` (one, in any ordinary query). */
async function postsOfUsers(
  posts: PostsService,
  queries: { obj: User; params: { limit: number } }[],
  { actor }: Ctx,
) {
  const byLimit = new Map<number, string[]>();
  for (const { obj, params } of queries) {
    const { limit } = checkPerUser({ limit: params.limit });
    byLimit.set(limit, [...(byLimit.get(limit) ?? []), obj.id]);
  }
  const found = new Map<number, Map<string, Post[]>>();
  for (const [limit, ids] of byLimit) {
    found.set(limit, await posts.postsByAuthors(actor, ids, limit));
  }
  return queries.map(({ obj, params }) => found.get(params.limit)?.get(obj.id) ?? []);
}

export function postsGraphql(posts: PostsService, profiles: ProfilesService): GraphqlModule {
  return {
    typeDefs,
    resolvers: {
      Query: {
        post: (_root: unknown, args: { id: string }, { actor }: Ctx) =>
          posts.getPost(actor, checkId(args).id),
        posts: (_root: unknown, args: PostsArgs, { actor }: Ctx) =>
          posts
            .listPosts(actor, { ...pageOf(args), q: searchOf(args.search) })
            .then((page) => page.items),
      },
      Mutation: {
        createPost: (_root: unknown, args: { input: CreatePostInput }, { actor }: Ctx) =>
          posts.createPost(actor, checkCreate({ ...args.input })),
        updatePost: (_root: unknown, args: { id: string; input: PatchPostInput }, { actor }: Ctx) =>
          posts.updatePost(actor, checkId(args).id, checkUpdate({ ...args.input })),
        deletePost: async (_root: unknown, args: { id: string }, { actor }: Ctx) => {
          await posts.deletePost(actor, checkId(args).id);
          return true;
        },
      },
    },
    loaders: {
      User: {
        posts: (queries: { obj: User; params: { limit: number } }[], context: Ctx) =>
          postsOfUsers(posts, queries, context),
      },
      Post: {
        author: async (queries: { obj: Post }[], { actor }: Ctx) => {
          const ids = queries.map((q) => q.obj.authorId);
          const authors = await profiles.getProfiles(actor, ids);
          return ids.map((id) => authors.get(id) ?? null);
        },
      },
    },
  };
}
