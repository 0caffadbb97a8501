import type { AppModule } from '../module.js';
import { authRoutes } from './auth.routes.js';
import type { AuthService } from './auth.service.js';
import { oidcRoutes } from './oidc.routes.js';
import type { OidcService } from './oidc.service.js';
import { sessionsGraphql } from './sessions.graphql.js';
import { sessionsRoutes } from './sessions.routes.js';
import type { SessionsService } from './sessions.service.js';
import { twoFactorGraphql } from './two-factor.graphql.js';
import { twoFactorRoutes } from './two-factor.routes.js';
import type { TwoFactorService } from './two-factor.service.js';

/**
 * Registration, login (with its two-factor step), refresh and logout; two-factor enrolment; the
 * sessions a user sees and ends; sign-in through an OpenID provider when configured.
 */
export const authModule: AppModule<{
  auth: AuthService;
  sessions: SessionsService;
  oidc: OidcService;
  twoFactor: TwoFactorService;
}> = {
  name: 'auth',
  async routes(server, { auth, sessions, oidc, twoFactor }) {
    await server.register(authRoutes, { prefix: '/api/v1', auth });
    await server.register(twoFactorRoutes, { prefix: '/api/v1', auth, twoFactor });
    await server.register(sessionsRoutes, { prefix: '/api/v1', sessions });
    // Unconfigured, the routes don't exist (404): the documents list only what answers.
    if (oidc.configured) await server.register(oidcRoutes, { prefix: '/api/v1', oidc });
  },
  graphql: ({ sessions, twoFactor }) => [sessionsGraphql(sessions), twoFactorGraphql(twoFactor)],
};
