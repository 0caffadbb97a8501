import type { Tx } from '../db/transaction.js';

/**
 * What the security log records: every sign-in and failed sign-in, throttling, token reuse,
 * session end, password and email change, two-factor change, role change and admin action on
 * an account. The names are the API's (`type` in GET /users/{id}/security-events).
 */
export const SECURITY_EVENT_TYPES = [
  'sign-in',
  'sign-in-failed',
  'sign-in-throttled',
  'refresh-token-reused',
  'session-ended',
  'password-changed',
  'password-reset-requested',
  'password-reset',
  'email-verification-sent',
  'email-verified',
  'email-change-requested',
  'email-changed',
  'two-factor-enabled',
  'two-factor-disabled',
  'two-factor-failed',
  'recovery-code-used',
  'oidc-linked',
  'account-created',
  'role-changed',
  'status-changed',
  'account-deleted',
] as const;

export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

export interface SecurityEventInput {
  type: SecurityEventType;
  /** The account the event is about; null when no account matched (an unknown email). */
  userId: string | null;
  /**
   * For an event no account matched: what it was about (the address tried). Its SHA-256 names
   * the chain the event goes on, one per address; never stored as such.
   */
  subject?: string;
  /** Who did it: the account itself, an admin, or null (a guest, a job). */
  actorId: string | null;
  outcome: 'success' | 'failure';
  ip?: string;
  userAgent?: string;
  requestId?: string;
  /** What else says what happened (method, session id, old and new role…); never a secret. */
  details?: Record<string, string | number | boolean | null>;
}

/**
 * The append-only security log. `record` inside the transaction that makes the change, so the
 * change and its record commit together; without `tx` (a refused attempt) on its own.
 */
export interface SecurityLog {
  record(event: SecurityEventInput, tx?: Tx): Promise<void>;
}
