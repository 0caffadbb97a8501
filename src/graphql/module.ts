import type { IResolvers, MercuriusLoaders } from 'mercurius';
import type { Actor } from '../platform/auth/actor.js';

declare module 'mercurius' {
  interface MercuriusContext {
    /** Who is asking: the request's actor, set by the same authentication hook as REST's. */
    actor: Actor;
  }
}

/**
 * What a module adds to the one schema: its SDL (`extend type Query` and friends), the
 * resolvers that call its service, and the loaders that batch its per-parent fields.
 */
export interface GraphqlModule {
  typeDefs: string;
  resolvers: IResolvers;
  loaders?: MercuriusLoaders;
}
