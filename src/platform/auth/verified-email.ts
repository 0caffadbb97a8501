import { ForbiddenError } from '../errors.js';
import type { Actor } from './actor.js';

/**
 * Refuses an actor whose access token says its email is unverified (403 EMAIL_NOT_VERIFIED),
 * when `required` (REQUIRE_VERIFIED_EMAIL). It reads the token's claim, not the users table, so
 * the money paths keep their round trips: a user who has just verified refreshes (or signs in
 * again) for a token that says so. Actors the code makes itself (no claim) pass.
 */
export function requireVerifiedEmail(actor: Actor, required: boolean): void {
  if (required && actor.emailVerified === false) {
    throw new ForbiddenError(
      'Verify your email address before moving money; then refresh your token',
      'EMAIL_NOT_VERIFIED',
    );
  }
}
