import type { UserRole } from '../db/schema.js';

/** Who is asking: passed as the first argument of every service method. */
export interface Actor {
  userId: string | null;
  role: UserRole;
}

export const anonymous: Actor = { userId: null, role: 'guest' };
