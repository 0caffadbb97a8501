import type { AppModule } from '../module.js';
import { authRoutes } from './auth.routes.js';
import type { AuthService } from './auth.service.js';
import { oidcRoutes } from './oidc.routes.js';
import type { OidcService } from './oidc.service.js';

/** Registration, login, refresh and logout; sign-in through an OpenID provider when configured. */
export const authModule: AppModule<{ auth: AuthService; oidc: OidcService }> = {
  name: 'auth',
  async routes(server, { auth, oidc }) {
    await server.register(authRoutes, { prefix: '/api/v1', auth });
    // Unconfigured, the routes don't exist (404): the documents list only what answers.
    if (oidc.configured) await server.register(oidcRoutes, { prefix: '/api/v1', oidc });
  },
};
