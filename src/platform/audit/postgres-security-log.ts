import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../db/database.js';
import { withTransaction, type Tx } from '../db/transaction.js';
import {
  canonicalDetails,
  eventHash,
  GENESIS_HASH,
  UNMATCHED_CHAIN_ID,
  type ChainedEvent,
} from './chain.js';
import type { SecurityEventInput, SecurityLog } from './security-log.js';

/** Longer client strings (a user agent) are cut here, before hashing, so row and hash agree. */
const MAX_TEXT = 512;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const wellFormed = (value: string) => value.replace(LONE_SURROGATE, '\uFFFD');

/**
 * Text as PostgreSQL stores it and gives it back: no NUL (text can't hold one), no lone
 * surrogate (it would come back as U+FFFD and no longer match its hash).
 */
function storable(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  return wellFormed(wellFormed(value.replaceAll('\u0000', '\uFFFD')).slice(0, MAX_TEXT));
}

/**
 * The security log on PostgreSQL (or PGlite), one hash chain per account. An append is two
 * statements in the caller's transaction: the first moves the chain's head on by one (an
 * upsert, which locks the head row to the commit, so concurrent events of one account queue
 * instead of forking the chain) and returns the previous hash; the second inserts the event,
 * hashed in TypeScript over that hash, and stores its hash as the new head.
 */
export class PostgresSecurityLog implements SecurityLog {
  constructor(
    private readonly db: Database,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(event: SecurityEventInput, tx?: Tx): Promise<void> {
    if (tx) return this.append(event, tx);
    await withTransaction(this.db, (own) => this.append(event, own));
  }

  private async append(event: SecurityEventInput, tx: Tx): Promise<void> {
    const chainId = event.userId ?? UNMATCHED_CHAIN_ID;
    const head = await sql<{ seq: string | number | bigint; head_hash: string }>`
      insert into security_event_chains (chain_id, seq, head_hash, anchor_seq, anchor_hash)
      values (${chainId}, 1, ${GENESIS_HASH}, 0, ${GENESIS_HASH})
      on conflict (chain_id) do update
        set seq = security_event_chains.seq + 1, updated_at = now()
      returning seq, head_hash`.execute(tx);
    const { seq, head_hash: prevHash } = head.rows[0]!;
    // Taken once the chain is ours, so a chain's times follow its sequence on one clock.
    const row: ChainedEvent = {
      chainId,
      seq: Number(seq),
      prevHash,
      id: uuidv7(),
      userId: event.userId,
      actorId: storable(event.actorId),
      type: event.type,
      outcome: event.outcome,
      ip: storable(event.ip),
      userAgent: storable(event.userAgent),
      requestId: storable(event.requestId),
      details: canonicalDetails(
        Object.fromEntries(
          Object.entries(event.details ?? {}).map(([k, v]) => [
            k,
            typeof v === 'string' ? storable(v) : v,
          ]),
        ),
      ),
      createdAt: this.now(),
    };
    const hash = eventHash(row);
    await sql`
      with appended as (
        insert into security_events (id, chain_id, seq, user_id, actor_id, type, outcome, ip,
          user_agent, request_id, details, prev_hash, hash, created_at)
        values (${row.id}, ${chainId}, ${row.seq}, ${row.userId}, ${row.actorId}, ${row.type},
          ${row.outcome}, ${row.ip}, ${row.userAgent}, ${row.requestId},
          ${JSON.stringify(row.details)}::jsonb, ${prevHash}, ${hash}, ${row.createdAt})
        returning chain_id)
      update security_event_chains set head_hash = ${hash}
       where chain_id = (select chain_id from appended)`.execute(tx);
  }
}
