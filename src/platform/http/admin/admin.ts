import cookie from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../../auth/actor.js';
import type { Permission } from '../../auth/permissions.js';
import type { RevocationList } from '../../auth/revocations.js';
import type { AccessTokens } from '../../auth/tokens.js';
import { loginRoutes } from './login-routes.js';
import { registerSessionCookie, requireAdmin } from './session-guard.js';

export const QUEUES_DASHBOARD_PATH = '/admin/queues';

/** What the sign-in pages need of the auth module (AuthService provides it). */
export interface AdminSignIn {
  /** A token for the cookie, or (the account has two-factor) a step token for the code step. */
  loginFor(
    actor: Actor,
    input: { email: string; password: string },
    permission: Permission,
  ): Promise<
    | { accessToken: string; expiresIn: number }
    | { twoFactorRequired: true; stepToken: string; expiresIn: number }
  >;
  loginForWithSecondFactor(
    actor: Actor,
    stepToken: string,
    factor: { code: string } | { recoveryCode: string },
    permission: Permission,
  ): Promise<{ accessToken: string; expiresIn: number }>;
  logout(actor: Actor): Promise<void>;
}

/**
 * What /admin/queues shows, registered in its own scope behind the guard: bull-board with a
 * queue Redis, the outbox page without. The app's composition picks one.
 */
export type Dashboard = (scope: FastifyInstance, basePath: string) => Promise<void>;

export interface AdminPagesOptions {
  signIn: AdminSignIn;
  tokens: AccessTokens;
  revocations: RevocationList;
  dashboard: Dashboard;
}

/**
 * The admin pages, for a browser as much as for an API client: /admin/login and /admin/logout,
 * and the job dashboard at /admin/queues for `manage:queues` (admins), signed in with either
 * the API's Bearer token or the session cookie the sign-in form sets. Hidden from the OpenAPI
 * documents, like everything outside /api.
 */
export async function registerAdminPages(app: FastifyInstance, options: AdminPagesOptions) {
  await app.register(async (admin) => {
    // Here only: the API neither reads nor sets cookies.
    await admin.register(cookie);
    // Helmet's no-referrer would make a browser send `Origin: null` on this site's own form
    // posts and UI calls, which the CSRF check then refuses; same-origin still tells other
    // sites nothing.
    admin.addHook('onSend', async (_request, reply, payload) => {
      void reply.header('referrer-policy', 'same-origin');
      return payload;
    });
    registerSessionCookie(admin, options.tokens, options.revocations);
    await loginRoutes(admin, { signIn: options.signIn, home: QUEUES_DASHBOARD_PATH });
    await admin.register(
      async (dashboard) => {
        dashboard.addHook('preHandler', requireAdmin('manage:queues'));
        await options.dashboard(dashboard, QUEUES_DASHBOARD_PATH);
      },
      { prefix: QUEUES_DASHBOARD_PATH },
    );
  });
}
