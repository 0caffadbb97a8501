import type { AppModule } from '../module.js';
import { authRoutes } from './auth.routes.js';
import type { AuthService } from './auth.service.js';

/** Registration, login, refresh and logout. */
export const authModule: AppModule<{ auth: AuthService }> = {
  name: 'auth',
  async routes(server, { auth }) {
    await server.register(authRoutes, { prefix: '/api/v1', auth });
  },
};
