import type { UserRole } from '../db/schema.js';

/** Who is asking: passed as the first argument of every service method. */
export interface Actor {
  userId: string | null;
  role: UserRole;
  /** The login session (refresh-token family) and access token the request came with. */
  sessionId?: string;
  tokenId?: string;
  /** The client address as the platform trusts it (see TRUST_PROXY). */
  ip?: string;
  /** The client's User-Agent header, as sent (recorded with sessions and security events). */
  userAgent?: string;
  /**
   * From the access token (its `ev` claim): the account's email was verified when the token was
   * issued. Undefined for actors the code makes itself (jobs, the CLI), which are trusted.
   */
  emailVerified?: boolean;
  /** The request it came with, carried into the jobs it schedules for tracing. */
  requestId?: string;
}

export const anonymous: Actor = { userId: null, role: 'guest' };
