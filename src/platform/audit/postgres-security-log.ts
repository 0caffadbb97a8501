import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../db/database.js';
import type { Tx } from '../db/transaction.js';
import {
  canonicalDetails,
  encodingParts,
  eventHash,
  GENESIS_HASH,
  UNMATCHED_CHAIN_ID,
  unmatchedChainId,
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
 * The security log on PostgreSQL (or PGlite), one hash chain per account. An append is one
 * statement, so a sign-in records with one round trip and a change in a transaction adds one
 * statement to it. The statement moves the chain's head on by one (an upsert, which locks the
 * head row to the commit, so concurrent events of one account queue instead of forking the
 * chain), computing the new hash from the head's previous hash and sequence number and the
 * encoding TypeScript made of the rest (`encodingParts`); then it inserts the event with both
 * hashes. A chain's first event is hashed here in full, as no head exists yet.
 */
export class PostgresSecurityLog implements SecurityLog {
  constructor(
    private readonly db: Database,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(event: SecurityEventInput, tx?: Tx): Promise<void> {
    const row: Omit<ChainedEvent, 'seq' | 'prevHash'> = {
      chainId:
        event.userId ??
        (event.subject === undefined ? UNMATCHED_CHAIN_ID : unmatchedChainId(event.subject)),
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
    const { before, after } = encodingParts(row);
    const firstHash = eventHash({ ...row, seq: 1, prevHash: GENESIS_HASH });
    // c.seq and c.head_hash are the head before this append: the new sequence is c.seq + 1.
    const nextHash = sql`encode(sha256(convert_to(
      ${before}::text || (c.seq + 1)::text || ',"' || c.head_hash || '"' || ${after}::text,
      'UTF8')), 'hex')`;
    await sql`
      with head as (
        insert into security_event_chains as c
          (chain_id, seq, prev_hash, head_hash, anchor_seq, anchor_hash)
        values (${row.chainId}, 1, ${GENESIS_HASH}, ${firstHash}, 0, ${GENESIS_HASH})
        on conflict (chain_id) do update
          set seq = c.seq + 1, prev_hash = c.head_hash, head_hash = ${nextHash},
              updated_at = now()
        returning c.seq, c.prev_hash, c.head_hash)
      insert into security_events (id, chain_id, seq, user_id, actor_id, type, outcome, ip,
        user_agent, request_id, details, prev_hash, hash, created_at)
      select ${row.id}, ${row.chainId}, head.seq, ${row.userId}, ${row.actorId}, ${row.type},
        ${row.outcome}, ${row.ip}, ${row.userAgent}, ${row.requestId},
        ${JSON.stringify(row.details)}::jsonb, head.prev_hash, head.head_hash, ${row.createdAt}
      from head`.execute(tx ?? this.db);
  }
}
