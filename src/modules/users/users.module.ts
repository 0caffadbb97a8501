import type { AppModule } from '../module.js';
import { profilesRoutes } from './profiles.routes.js';
import type { ProfilesService } from './profiles.service.js';
import { usersGraphql } from './users.graphql.js';
import { usersJobs } from './users.jobs.js';
import { usersRoutes } from './users.routes.js';
import { PublicProfileSchema, UserSchema } from './users.schemas.js';
import type { UsersService } from './users.service.js';
import { usersV2Routes } from './users.v2.routes.js';

/** Users and their public profiles; the welcome email. */
export const usersModule: AppModule<{ users: UsersService; profiles: ProfilesService }> = {
  name: 'users',
  schemas: [UserSchema, PublicProfileSchema],
  async routes(server, { users, profiles }, config) {
    await server.register(usersRoutes, { prefix: '/api/v1', users });
    await server.register(profilesRoutes, { prefix: '/api/v1', profiles });
    await server.register(usersV2Routes, {
      prefix: '/api/v2',
      users,
      exactCountLimit: config.apiExactCountLimit,
    });
  },
  graphql: ({ users }) => usersGraphql(users),
  jobs: usersJobs,
};
