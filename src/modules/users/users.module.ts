import type { AppModule } from '../module.js';
import { accountEmailsGraphql } from './account-emails.graphql.js';
import { accountEmailsRoutes } from './account-emails.routes.js';
import type { AccountEmailsService } from './account-emails.service.js';
import { profilesRoutes } from './profiles.routes.js';
import type { ProfilesService } from './profiles.service.js';
import { usersGraphql } from './users.graphql.js';
import { usersJobs } from './users.jobs.js';
import { usersRoutes } from './users.routes.js';
import { PublicProfileSchema, UserSchema } from './users.schemas.js';
import type { UsersService } from './users.service.js';
import { usersV2Routes } from './users.v2.routes.js';

/** Users and their public profiles; the welcome email; email verification, reset and change. */
export const usersModule: AppModule<{
  users: UsersService;
  profiles: ProfilesService;
  accountEmails: AccountEmailsService;
}> = {
  name: 'users',
  schemas: [UserSchema, PublicProfileSchema],
  async routes(server, { users, profiles, accountEmails }, config) {
    await server.register(accountEmailsRoutes, { prefix: '/api/v1', emails: accountEmails });
    await server.register(usersRoutes, { prefix: '/api/v1', users });
    await server.register(profilesRoutes, { prefix: '/api/v1', profiles });
    await server.register(usersV2Routes, {
      prefix: '/api/v2',
      users,
      exactCountLimit: config.apiExactCountLimit,
    });
  },
  graphql: ({ users, accountEmails }) => [usersGraphql(users), accountEmailsGraphql(accountEmails)],
  jobs: usersJobs,
};
