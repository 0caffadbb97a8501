import type { Actor } from '../../platform/auth/actor.js';
import { authorize, can, requireUser } from '../../platform/auth/permissions.js';
import type { SecurityEventType } from '../../platform/audit/security-log.js';
import type { Keyset } from '../../platform/db/keyset.js';
import { NotFoundError } from '../../platform/errors.js';
import type { SecurityEvent, SecurityEventsRepository } from './security.repository.js';

export interface SecurityEventsPage {
  after?: Keyset;
  limit: number;
  type?: SecurityEventType;
}

/**
 * Reading the security log: your own events, or anyone's with `read:users` (admins). Another
 * user's events are 404 for whoever can't read that user, as the user itself is.
 */
export class SecurityEventsService {
  constructor(private readonly events: SecurityEventsRepository) {}

  async listUserEvents(
    actor: Actor,
    userId: string,
    page: SecurityEventsPage,
  ): Promise<SecurityEvent[]> {
    requireUser(actor);
    if (actor.userId !== userId && !can(actor, 'read:users')) throw new NotFoundError('User');
    return this.events.listAfter({ ...page, userId });
  }

  /** Every account's events (`read:users`); `userId` narrows to one, null to unmatched ones. */
  async listEvents(
    actor: Actor,
    page: SecurityEventsPage & { userId?: string | null },
  ): Promise<SecurityEvent[]> {
    authorize(actor, 'read:users');
    return this.events.listAfter(page);
  }
}
