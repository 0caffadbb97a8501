import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { registerGraphql } from './graphql/plugin.js';
import { accountsGraphql } from './modules/accounts/accounts.graphql.js';
import { accountsRoutes } from './modules/accounts/accounts.routes.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { ordersGraphql } from './modules/orders/orders.graphql.js';
import { ordersRoutes } from './modules/orders/orders.routes.js';
import { postsGraphql } from './modules/posts/posts.graphql.js';
import { postsRoutes } from './modules/posts/posts.routes.js';
import { postsV2Routes } from './modules/posts/posts.v2.routes.js';
import { productsRoutes } from './modules/products/products.routes.js';
import { profilesRoutes } from './modules/users/profiles.routes.js';
import { usersGraphql } from './modules/users/users.graphql.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { usersV2Routes } from './modules/users/users.v2.routes.js';
import type { WriteBehindFlusher } from './platform/cache/write-behind.js';
import type { Lifecycle } from './platform/http/health.js';
import type { Mailer } from './platform/mail/mailer.js';
import type { Metrics } from './platform/metrics/metrics.js';
import type { Dependencies } from './composition/dependencies.js';
import { createServer, registerAdmin, registerCrossCutting } from './composition/http.js';
import { buildJobs, startViewFlusher, type Jobs } from './composition/jobs.js';
import { bootstrapAdmin, buildServices, type Services } from './composition/services.js';

export interface App {
  server: FastifyInstance;
  services: Services;
  jobs: Jobs;
  lifecycle: Lifecycle;
  /** Post views into the database; flushes on its own and once more on server close. */
  viewFlusher: WriteBehindFlusher;
  metrics: Metrics;
}

export interface BuildAppOptions {
  /** Replaces the configured mailer (tests count what would have been sent). */
  mailer?: Mailer;
}

/** The API process: the parts of src/composition/, and the modules' routes. */
export async function buildApp(
  config: Config,
  deps: Dependencies,
  options: BuildAppOptions = {},
): Promise<App> {
  const lifecycle: Lifecycle = { shuttingDown: false };
  const services = buildServices(config, deps);
  await services.accounts.ensureLedger();

  const server = createServer(config);
  await bootstrapAdmin(config, services, server.log);
  // The API drains the outbox too: its own commits leave at once, not at the next poll.
  const jobs = buildJobs(config, deps, server.log, {
    scheduler: services.jobs,
    mailer: options.mailer,
  });
  server.addHook('onReady', async () => jobs.start());
  server.addHook('onClose', async () => jobs.close());
  const metrics = await registerCrossCutting(server, { config, deps, services, jobs, lifecycle });

  await server.register(usersRoutes, { prefix: '/api/v1', users: services.users });
  await server.register(authRoutes, { prefix: '/api/v1', auth: services.auth });
  await server.register(profilesRoutes, { prefix: '/api/v1', profiles: services.profiles });
  await server.register(postsRoutes, { prefix: '/api/v1', posts: services.posts });
  await server.register(productsRoutes, { prefix: '/api/v1', products: services.products });
  const { accounts, orders, idempotency } = services;
  await server.register(accountsRoutes, { prefix: '/api/v1', accounts, idempotency });
  await server.register(ordersRoutes, { prefix: '/api/v1', orders, idempotency });
  // The other door into the same services.
  await registerGraphql(server, config, [
    usersGraphql(services.users),
    postsGraphql(services.posts, services.profiles),
    ordersGraphql(orders),
    accountsGraphql(accounts),
  ]);

  // API v2: the resources whose representation changed; the same services behind them.
  const exactCountLimit = config.apiExactCountLimit;
  await server.register(usersV2Routes, {
    prefix: '/api/v2',
    users: services.users,
    exactCountLimit,
  });
  await server.register(postsV2Routes, {
    prefix: '/api/v2',
    posts: services.posts,
    users: services.users,
    exactCountLimit,
  });

  deps.cache.logTo(server.log);
  const viewFlusher = startViewFlusher(config, deps, services, server);
  await registerAdmin(server, { deps, services, jobs });

  return { server, services, jobs, lifecycle, viewFlusher, metrics };
}
