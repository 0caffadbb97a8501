import type { AppModule } from '../module.js';
import { authRoutes } from './auth.routes.js';
import type { AuthService } from './auth.service.js';
import { sessionsGraphql } from './sessions.graphql.js';
import { sessionsRoutes } from './sessions.routes.js';
import type { SessionsService } from './sessions.service.js';

/** Registration, login, refresh and logout; the sessions a user sees and ends. */
export const authModule: AppModule<{ auth: AuthService; sessions: SessionsService }> = {
  name: 'auth',
  async routes(server, { auth, sessions }) {
    await server.register(authRoutes, { prefix: '/api/v1', auth });
    await server.register(sessionsRoutes, { prefix: '/api/v1', sessions });
  },
  graphql: ({ sessions }) => [sessionsGraphql(sessions)],
};
