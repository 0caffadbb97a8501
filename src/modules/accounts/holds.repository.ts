import { sql, type SqlBool } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { guard, partsSql } from '../../platform/db/single-statement.js';
import type { AccountKind, HoldStatus } from '../../platform/db/schema.js';
import type {
  Account,
  MovementCompanion,
  MovementGuards,
  MovementRules,
  MoveOutcome,
} from './accounts.repository.js';

/** A two-phase movement: money reserved in its payer's account, then captured or released. */
export interface Hold {
  id: string;
  fromAccountId: string;
  toAccountId: string;
  /** What is (or was) reserved, integer minor units. */
  amount: number;
  currency: string;
  /** `pending` past its expiry reads as `expired`, swept or not: it can no longer be captured. */
  status: HoldStatus;
  /** What the capture moved; null until captured. */
  capturedAmount: number | null;
  /** The capture's journal row; null until captured. */
  transferId: string | null;
  reference: string | null;
  createdBy: string | null;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** How a capture or a void ended: whether it took effect, and the hold as its statement found it. */
export interface SettleOutcome {
  done: boolean;
  hold: Hold | undefined;
}

interface HoldRow {
  id: string;
  from_account_id: string;
  to_account_id: string;
  amount_minor: string | number;
  currency: string;
  status: HoldStatus;
  captured_minor: string | number | null;
  transfer_id: string | null;
  reference: string | null;
  created_by: string | null;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
  /** Past expires_at by the database's clock. */
  expired: boolean;
}

interface AccountRow {
  id: string;
  kind: AccountKind;
  user_id: string | null;
  currency: string;
  balance_minor: string | number;
  held_minor: string | number;
  created_at: Date;
  updated_at: Date;
  moved: boolean;
}

/** The hold's columns with the status a reader should see (expired once past its expiry). */
const holdColumns = sql`id, from_account_id, to_account_id, amount_minor, currency,
  CASE WHEN status = 'pending' AND expires_at <= now() THEN 'expired' ELSE status END AS status,
  captured_minor, transfer_id, reference, created_by, expires_at, created_at, updated_at,
  expires_at <= now() AS expired`;

/**
 * PostgreSQL-specific like AccountsRepository: each change of a hold is one statement that
 * changes the hold and its accounts' balances and `held_minor` together (docs/decisions/
 * 0011-holds.md). Locks are taken in one order everywhere: the hold row first, then the
 * accounts by id, as `move` does; nothing that holds an account's lock waits for a hold's.
 */
export class HoldsRepository {
  constructor(private readonly db: Database) {}

  async findById(id: string): Promise<Hold | undefined> {
    const { rows } = await sql<HoldRow>`
      SELECT ${holdColumns} FROM holds WHERE id = ${id}::uuid`.execute(this.db);
    return rows[0] && toHold(rows[0]);
  }

  /** An account's holds as payer or payee, newest first: two index scans merged. */
  async listByAccount(accountId: string, offset: number, limit: number) {
    const { rows } = await sql<HoldRow & { total_count: number }>`
      SELECT h.*, (count(*) OVER ())::int AS total_count FROM (
        SELECT ${holdColumns} FROM holds WHERE from_account_id = ${accountId}::uuid
        UNION ALL
        SELECT ${holdColumns} FROM holds WHERE to_account_id = ${accountId}::uuid
      ) h
      ORDER BY created_at DESC, id DESC
      OFFSET ${offset} LIMIT ${limit}`.execute(this.db);
    let totalCount = rows[0]?.total_count;
    totalCount ??= offset > 0 ? await this.countByAccount(accountId) : 0;
    return { items: rows.map(toHold), totalCount };
  }

  private async countByAccount(accountId: string): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM holds
       WHERE from_account_id = ${accountId}::uuid OR to_account_id = ${accountId}::uuid`.execute(
      this.db,
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * A new pending hold as one statement: both accounts locked in id order (as `move`, so they
   * can't deadlock with movements), `move`'s rules checked on the locked rows against what the
   * payer may spend (balance - held), and only then the payer's `held_minor` raised and the
   * hold inserted. The companions' parts (the Idempotency-Key) run under `allowed`/`refused`.
   */
  async place(
    hold: Hold,
    rules: MovementRules,
    companions: MovementCompanion[] = [],
  ): Promise<MoveOutcome> {
    const guards: MovementGuards = {
      allowed: guard(sql<SqlBool>`EXISTS (SELECT FROM allowed)`),
      refused: guard(sql<SqlBool>`NOT EXISTS (SELECT FROM allowed)`),
    };
    const { rows } = await sql<AccountRow>`
      WITH locked AS MATERIALIZED (
        SELECT id, kind, user_id, currency, balance_minor, held_minor, created_at, updated_at
          FROM accounts WHERE id IN (${hold.fromAccountId}::uuid, ${hold.toAccountId}::uuid)
         ORDER BY id FOR UPDATE
      ), allowed AS MATERIALIZED (
        SELECT FROM locked f, locked t
         WHERE f.id = ${hold.fromAccountId}::uuid AND t.id = ${hold.toAccountId}::uuid
           AND f.currency = ${hold.currency} AND t.currency = ${hold.currency}
           AND (f.kind = 'issuer' OR f.balance_minor - f.held_minor >= ${hold.amount}::bigint)
           AND (${rules.payerUserId}::uuid IS NULL OR f.user_id = ${rules.payerUserId}::uuid)
           AND (NOT ${rules.walletsOnly}::boolean OR t.kind = 'wallet')
      ), reserved AS (
        -- Both columns from the locked row (see AccountsRepository.move).
        UPDATE accounts a
           SET held_minor = l.held_minor + ${hold.amount}::bigint, balance_minor = l.balance_minor,
               updated_at = now()
          FROM locked l
         WHERE a.id = l.id AND l.id = ${hold.fromAccountId}::uuid AND EXISTS (SELECT FROM allowed)
        RETURNING a.id
      ), placed AS (
        INSERT INTO holds (id, from_account_id, to_account_id, amount_minor, currency, reference,
                           created_by, expires_at, created_at, updated_at)
        SELECT ${hold.id}::uuid, ${hold.fromAccountId}::uuid, ${hold.toAccountId}::uuid,
               ${hold.amount}::bigint, ${hold.currency}, ${hold.reference},
               ${hold.createdBy}::uuid, ${hold.expiresAt}::timestamptz,
               ${hold.createdAt}::timestamptz, ${hold.createdAt}::timestamptz
         WHERE EXISTS (SELECT FROM reserved)
        RETURNING id
      )${companionCtes(companions, guards)}
      SELECT locked.*, EXISTS (SELECT FROM placed) AS moved FROM locked`.execute(this.db);
    const locked = new Map(rows.map((row) => [row.id, toAccount(row)]));
    return {
      moved: rows[0]?.moved ?? false,
      from: locked.get(hold.fromAccountId),
      to: locked.get(hold.toAccountId),
    };
  }

  /**
   * Captures `amount` (at most the hold's) as one statement: the hold row locked, then both
   * accounts in id order; only a hold still pending and not past its expiry by the database's
   * clock is captured: the hold marked captured, the payer's `held_minor` lowered by the whole
   * hold (the rest is released), `amount` moved to the payee with its journal row `entryId`.
   * Racing captures, voids and the expiry sweep all lock the hold row first: exactly one wins.
   */
  async capture(
    c: { holdId: string; amount: number; entryId: string; at: Date },
    companions: MovementCompanion[] = [],
  ): Promise<SettleOutcome> {
    const { rows } = await sql<HoldRow & { done: boolean }>`
      WITH target AS MATERIALIZED (
        SELECT * FROM holds WHERE id = ${c.holdId}::uuid FOR UPDATE
      ), locked AS MATERIALIZED (
        SELECT id, balance_minor, held_minor FROM accounts
         WHERE id IN (SELECT from_account_id FROM target UNION ALL SELECT to_account_id FROM target)
         ORDER BY id FOR UPDATE
      ), allowed AS MATERIALIZED (
        SELECT FROM target
         WHERE status = 'pending' AND expires_at > now()
           AND ${c.amount}::bigint BETWEEN 1 AND amount_minor
      ), moved AS (
        UPDATE accounts a
           SET balance_minor = l.balance_minor + CASE WHEN a.id = h.from_account_id
                                                      THEN -${c.amount}::bigint
                                                      ELSE ${c.amount}::bigint END,
               held_minor = l.held_minor - CASE WHEN a.id = h.from_account_id
                                                THEN h.amount_minor ELSE 0 END,
               updated_at = now()
          FROM locked l, target h
         WHERE a.id = l.id AND EXISTS (SELECT FROM allowed)
        RETURNING a.id, a.balance_minor
      ), entry AS (
        INSERT INTO journal_entries (id, kind, from_account_id, to_account_id, amount_minor,
                                     currency, from_balance_after, to_balance_after, reference,
                                     created_by, created_at, updated_at)
        SELECT ${c.entryId}::uuid, 'transfer', h.from_account_id, h.to_account_id,
               ${c.amount}::bigint, h.currency, f.balance_minor, t.balance_minor, h.reference,
               h.created_by, ${c.at}::timestamptz, ${c.at}::timestamptz
          FROM target h
          JOIN moved f ON f.id = h.from_account_id
          JOIN moved t ON t.id = h.to_account_id
        RETURNING id
      ), settled AS (
        UPDATE holds
           SET status = 'captured', captured_minor = ${c.amount}::bigint,
               transfer_id = (SELECT id FROM entry), updated_at = ${c.at}::timestamptz
         WHERE id = ${c.holdId}::uuid AND EXISTS (SELECT FROM entry)
        RETURNING id
      )${companionCtes(companions, settleGuards())}
      SELECT ${holdColumns}, EXISTS (SELECT FROM settled) AS done FROM target`.execute(this.db);
    return { done: rows[0]?.done ?? false, hold: rows[0] && toHold(rows[0]) };
  }

  /**
   * Voids a pending hold that has not expired, as one statement: the hold row locked, then its
   * payer; the hold marked voided and the payer's `held_minor` lowered by it.
   */
  async void(
    v: { holdId: string; at: Date },
    companions: MovementCompanion[] = [],
  ): Promise<SettleOutcome> {
    const { rows } = await sql<HoldRow & { done: boolean }>`
      WITH target AS MATERIALIZED (
        SELECT * FROM holds WHERE id = ${v.holdId}::uuid FOR UPDATE
      ), locked AS MATERIALIZED (
        SELECT id, balance_minor, held_minor FROM accounts
         WHERE id IN (SELECT from_account_id FROM target) FOR UPDATE
      ), allowed AS MATERIALIZED (
        SELECT FROM target WHERE status = 'pending' AND expires_at > now()
      ), released AS (
        UPDATE accounts a
           SET held_minor = l.held_minor - h.amount_minor, balance_minor = l.balance_minor,
               updated_at = now()
          FROM locked l, target h
         WHERE a.id = l.id AND EXISTS (SELECT FROM allowed)
        RETURNING a.id
      ), settled AS (
        UPDATE holds SET status = 'voided', updated_at = ${v.at}::timestamptz
         WHERE id = ${v.holdId}::uuid AND EXISTS (SELECT FROM released)
        RETURNING id
      )${companionCtes(companions, settleGuards())}
      SELECT ${holdColumns}, EXISTS (SELECT FROM settled) AS done FROM target`.execute(this.db);
    return { done: rows[0]?.done ?? false, hold: rows[0] && toHold(rows[0]) };
  }

  /**
   * The expiry sweep: up to `limit` pending holds past their expiry, soonest first, marked
   * expired and their amounts released from their payers' `held_minor`, as one statement. Holds
   * another statement has locked (a capture, a void, another process's sweep) are skipped, not
   * waited for; the next round takes them if they are still pending. Returns how many expired.
   */
  async expireDue(limit: number): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      WITH due AS MATERIALIZED (
        SELECT id, from_account_id, amount_minor FROM holds
         WHERE status = 'pending' AND expires_at <= now()
         ORDER BY expires_at LIMIT ${limit}::int
           FOR UPDATE SKIP LOCKED
      ), per_account AS MATERIALIZED (
        SELECT from_account_id AS id, sum(amount_minor)::bigint AS amount FROM due GROUP BY 1
      ), locked AS MATERIALIZED (
        SELECT id, balance_minor, held_minor FROM accounts
         WHERE id IN (SELECT id FROM per_account) ORDER BY id FOR UPDATE
      ), released AS (
        UPDATE accounts a
           SET held_minor = l.held_minor - p.amount, balance_minor = l.balance_minor,
               updated_at = now()
          FROM locked l JOIN per_account p USING (id)
         WHERE a.id = l.id
        RETURNING a.id
      ), expired AS (
        UPDATE holds h SET status = 'expired', updated_at = now()
          FROM due WHERE h.id = due.id
        RETURNING h.id
      )
      SELECT (SELECT count(*) FROM expired)::int AS n`.execute(this.db);
    return rows[0]?.n ?? 0;
  }
}

/** The guards a capture or a void offers its companions: it took effect, or it did not. */
function settleGuards(): MovementGuards {
  return {
    allowed: guard(sql<SqlBool>`EXISTS (SELECT FROM settled)`),
    refused: guard(sql<SqlBool>`NOT EXISTS (SELECT FROM settled)`),
  };
}

function companionCtes(companions: MovementCompanion[], guards: MovementGuards) {
  return partsSql(companions.flatMap((companion) => companion(guards)));
}

function toHold(row: HoldRow): Hold {
  return {
    id: row.id,
    fromAccountId: row.from_account_id,
    toAccountId: row.to_account_id,
    amount: Number(row.amount_minor),
    currency: row.currency,
    status: row.status,
    capturedAmount: row.captured_minor === null ? null : Number(row.captured_minor),
    transferId: row.transfer_id,
    reference: row.reference,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toAccount(row: AccountRow): Account {
  const balance = Number(row.balance_minor);
  const held = Number(row.held_minor);
  return {
    id: row.id,
    kind: row.kind,
    userId: row.user_id,
    currency: row.currency,
    balance,
    held,
    available: balance - held,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
