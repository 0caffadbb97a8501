import { sql, type Selectable } from 'kysely';
import { UNMATCHED_CHAIN_ID } from '../../platform/audit/chain.js';
import type { Database } from '../../platform/db/database.js';
import type { Keyset } from '../../platform/db/keyset.js';
import type { SecurityEventsTable } from '../../platform/db/schema.js';

/** A security-log event as the API shows it (the chain's fields stay for the verifier). */
export interface SecurityEvent {
  id: string;
  userId: string | null;
  actorId: string | null;
  type: string;
  outcome: 'success' | 'failure';
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  seq: number;
  createdAt: Date;
}

export interface SecurityEventFilter {
  /**
   * One account's events; undefined for every account's; null, or the nil UUID (the id of their
   * chain), for those no account matched.
   */
  userId?: string | null;
  type?: string;
  after?: Keyset;
  limit: number;
}

function toEvent(row: Selectable<SecurityEventsTable>): SecurityEvent {
  return {
    id: row.id,
    userId: row.user_id,
    actorId: row.actor_id,
    type: row.type,
    outcome: row.outcome,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    details: row.details,
    seq: Number(row.seq),
    createdAt: row.created_at,
  };
}

/** Reads the security log; it is written only through PostgresSecurityLog. */
export class SecurityEventsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Newest first, by (created_at DESC, id DESC): security_events_user_created_idx for one
   * account, security_events_created_idx for all. The rows' times are JavaScript's
   * milliseconds, so a cursor names its row exactly.
   */
  async listAfter({ userId, type, after, limit }: SecurityEventFilter): Promise<SecurityEvent[]> {
    let query = this.db
      .selectFrom('security_events')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit);
    if (userId === null || userId === UNMATCHED_CHAIN_ID)
      query = query.where('user_id', 'is', null);
    else if (userId !== undefined) query = query.where('user_id', '=', userId);
    if (type !== undefined) query = query.where('type', '=', type);
    if (after) {
      query = query.where(
        sql<boolean>`(created_at, id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`,
      );
    }
    return (await query.execute()).map(toEvent);
  }
}
