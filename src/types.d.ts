import type { Actor } from './platform/auth/actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; a guest until the authenticate hook finds a valid token. */
    actor: Actor;
  }
}
