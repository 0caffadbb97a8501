import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import type { Config } from '../config.js';
import type { GraphqlModule } from '../graphql/module.js';
import type { AnyJobDefinition } from '../platform/jobs/job.js';
import type { OnceMailer } from '../platform/mail/deliveries.js';
import type { AccountLinks } from './users/account-links.js';

/** What job handlers get besides the mailer (built in src/composition/jobs.ts). */
export interface JobTools {
  /** Issues the one-time token an account email carries, as the job sends it. */
  accountLinks: AccountLinks;
}

/**
 * A module as the composition root sees it: one object in `src/modules/<name>/<name>.module.ts`,
 * listed once in src/app.ts. `Needs` is the part of the service graph it uses (its services are
 * built in src/composition/services.ts); every part is optional.
 */
export interface AppModule<Needs = never> {
  name: string;
  /** Shared schemas its routes reference by $id; added before any module's routes. */
  schemas?: readonly TSchema[];
  /** Its REST routes, each API version under its prefix (/api/v1, /api/v2). */
  routes?: (server: FastifyInstance, services: Needs, config: Config) => Promise<void>;
  /** Its part of the one GraphQL schema: SDL, resolvers, loaders (one part per feature file). */
  graphql?: (services: Needs) => GraphqlModule | GraphqlModule[];
  /** Its job handlers (the payload types are listed in src/jobs.ts): the mailer and JobTools. */
  jobs?: (mail: OnceMailer, tools: JobTools) => readonly AnyJobDefinition[];
}
