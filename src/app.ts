import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { registerGraphql } from './graphql/plugin.js';
import { accountsModule } from './modules/accounts/accounts.module.js';
import { authModule } from './modules/auth/auth.module.js';
import type { AppModule } from './modules/module.js';
import { ordersModule } from './modules/orders/orders.module.js';
import { postsModule } from './modules/posts/posts.module.js';
import { productsModule } from './modules/products/products.module.js';
import { securityModule } from './modules/security/security.module.js';
import { usersModule } from './modules/users/users.module.js';
import type { WriteBehindFlusher } from './platform/cache/write-behind.js';
import type { Lifecycle } from './platform/http/health.js';
import type { Mailer } from './platform/mail/mailer.js';
import type { Metrics } from './platform/metrics/metrics.js';
import type { Dependencies } from './composition/dependencies.js';
import { createServer, registerAdmin, registerCrossCutting } from './composition/http.js';
import { buildJobs, startViewFlusher, type Jobs } from './composition/jobs.js';
import { bootstrapAdmin, buildServices, type Services } from './composition/services.js';

/**
 * The modules, in the order their routes and GraphQL parts are registered. A module is its
 * folder under src/modules/, one line here and its block in src/composition/services.ts.
 */
export const modules: readonly AppModule<Services>[] = [
  usersModule,
  authModule,
  postsModule,
  productsModule,
  ordersModule,
  accountsModule,
  securityModule,
];

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

/** The API process: the parts of src/composition/, composed, and the modules on top. */
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
    modules,
    scheduler: services.jobs,
    mailer: options.mailer,
  });
  server.addHook('onReady', async () => jobs.start());
  server.addHook('onClose', async () => jobs.close());
  const metrics = await registerCrossCutting(server, {
    config,
    deps,
    services,
    jobs,
    lifecycle,
    schemas: modules.flatMap((module) => module.schemas ?? []),
  });

  for (const module of modules) await module.routes?.(server, services, config);
  // The other door into the same services.
  await registerGraphql(
    server,
    config,
    modules.flatMap((module) => (module.graphql ? [module.graphql(services)].flat() : [])),
  );

  deps.cache.logTo(server.log);
  // Only an API process keeps an in-process cache level and listens for invalidations.
  server.addHook('onReady', async () => deps.cache.start());
  server.addHook('onClose', async () => deps.cache.close());
  const viewFlusher = startViewFlusher(config, deps, services, server);
  await registerAdmin(server, { deps, services, jobs });

  return { server, services, jobs, lifecycle, viewFlusher, metrics };
}
