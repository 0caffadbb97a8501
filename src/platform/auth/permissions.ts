import type { preHandlerAsyncHookHandler } from 'fastify';
import type { UserRole } from '../db/schema.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Actor } from './actor.js';

export const PERMISSIONS = [
  'read:users',
  'write:users',
  'delete:users',
  'read:posts',
  'write:posts',
  'moderate:posts',
  'read:products',
  'write:products',
  'read:orders',
  'write:orders',
  'read:accounts',
  'write:accounts',
  'manage:queues',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/**
 * The one role-to-permissions map. `read:users` means reading *other* users (everyone may read
 * and edit themselves); `*:orders` and `*:accounts` likewise cover other people's, which only
 * admins may touch; `moderate:posts` is changing and deleting other people's posts.
 * Ownership is checked by the services.
 */
export const ROLE_PERMISSIONS: Record<UserRole, readonly Permission[]> = {
  admin: PERMISSIONS,
  user: ['read:posts', 'write:posts', 'read:products'],
  guest: ['read:posts', 'read:products'],
};

const granted = new Map(
  Object.entries(ROLE_PERMISSIONS).map(([role, perms]) => [role, new Set<Permission>(perms)]),
);

export function can(actor: Actor, permission: Permission): boolean {
  return granted.get(actor.role)?.has(permission) ?? false;
}

/** A guest is asked to authenticate (401); an authenticated actor is refused (403). */
export function authorize(actor: Actor, permission: Permission): void {
  if (can(actor, permission)) return;
  if (actor.userId === null) throw new UnauthorizedError();
  throw new ForbiddenError(`Missing permission ${permission}`);
}

/** Refuses the request unless the actor is signed in. */
export function requireUser(actor: Actor): asserts actor is Actor & { userId: string } {
  if (actor.userId === null) throw new UnauthorizedError();
}

/** A route pre-handler for permissions that don't depend on the resource. */
export function requirePermission(...permissions: Permission[]): preHandlerAsyncHookHandler {
  return async (request) => {
    for (const permission of permissions) authorize(request.actor, permission);
  };
}
