import type { AppModule } from '../module.js';
import type { ProfilesService } from '../users/profiles.service.js';
import { postsGraphql } from './posts.graphql.js';
import { postsRoutes } from './posts.routes.js';
import { PostSchema } from './posts.schemas.js';
import type { PostsService } from './posts.service.js';
import { postsV2Routes } from './posts.v2.routes.js';
import { PostV2Schema } from './posts.v2.schemas.js';

/** Posts, their search and their views. */
export const postsModule: AppModule<{
  posts: PostsService;
  profiles: ProfilesService;
}> = {
  name: 'posts',
  schemas: [PostSchema, PostV2Schema],
  async routes(server, { posts, profiles }, config) {
    await server.register(postsRoutes, { prefix: '/api/v1', posts });
    await server.register(postsV2Routes, {
      prefix: '/api/v2',
      posts,
      profiles,
      exactCountLimit: config.apiExactCountLimit,
    });
  },
  graphql: ({ posts, profiles }) => postsGraphql(posts, profiles),
};
