import type { AppModule } from '../module.js';
import { authRoutes } from './auth.routes.js';
import type { AuthService } from './auth.service.js';
import { twoFactorGraphql } from './two-factor.graphql.js';
import { twoFactorRoutes } from './two-factor.routes.js';
import type { TwoFactorService } from './two-factor.service.js';

/** Registration, login (with its two-factor step), refresh and logout; two-factor enrolment. */
export const authModule: AppModule<{ auth: AuthService; twoFactor: TwoFactorService }> = {
  name: 'auth',
  async routes(server, { auth, twoFactor }) {
    await server.register(authRoutes, { prefix: '/api/v1', auth });
    await server.register(twoFactorRoutes, { prefix: '/api/v1', auth, twoFactor });
  },
  graphql: ({ twoFactor }) => [twoFactorGraphql(twoFactor)],
};
