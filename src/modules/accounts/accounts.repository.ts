import { sql, type RawBuilder, type Selectable, type SqlBool } from 'kysely';
import { PREPARED, type Database } from '../../platform/db/database.js';
import {
  batchPartsSql,
  guard,
  partsSql,
  type Companion,
  type Guard,
} from '../../platform/db/single-statement.js';
import type {
  AccountKind,
  AccountsTable,
  JournalEntriesTable,
  JournalKind,
} from '../../platform/db/schema.js';
import type { Tx } from '../../platform/db/transaction.js';

export interface Account {
  id: string;
  kind: AccountKind;
  userId: string | null;
  currency: string;
  /** Integer minor units. */
  balance: number;
  /** What pending holds reserve of the balance (holds.repository.ts). */
  held: number;
  /** What the account may spend: balance - held. */
  available: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface Transfer {
  id: string;
  kind: JournalKind;
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
  reference: string | null;
  createdAt: Date;
}

export interface AccountEntry {
  id: string;
  kind: JournalKind;
  direction: 'debit' | 'credit';
  amount: number;
  currency: string;
  counterpartyAccountId: string;
  balanceAfter: number;
  reference: string | null;
  createdAt: Date;
}

/** A movement the service has checked: both rows locked, funds there, currencies equal. */
export interface Movement {
  id: string;
  kind: JournalKind;
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
  reference: string | null;
  createdBy: string | null;
}

const accountColumns = [
  'id',
  'kind',
  'user_id',
  'currency',
  'balance_minor',
  'held_minor',
  'created_at',
  'updated_at',
] as const;

function toAccount(row: Pick<Selectable<AccountsTable>, (typeof accountColumns)[number]>): Account {
  return {
    id: row.id,
    kind: row.kind,
    userId: row.user_id,
    currency: row.currency,
    balance: Number(row.balance_minor),
    held: Number(row.held_minor),
    available: Number(row.balance_minor) - Number(row.held_minor),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const transferColumns = [
  'id',
  'kind',
  'from_account_id',
  'to_account_id',
  'amount_minor',
  'currency',
  'reference',
  'created_at',
] as const;

function toTransfer(
  row: Pick<Selectable<JournalEntriesTable>, (typeof transferColumns)[number]>,
): Transfer {
  return {
    id: row.id,
    kind: row.kind,
    fromAccountId: row.from_account_id,
    toAccountId: row.to_account_id,
    amount: Number(row.amount_minor),
    currency: row.currency,
    reference: row.reference,
    createdAt: row.created_at,
  };
}

/**
 * Who may move money out of which account into which, as the movement's own statement checks
 * it on the locked rows (the service states the same rules as errors, see ledger.ts).
 */
export interface MovementRules {
  /** The source must be this user's; null: any account (an admin, the issuer's deposits). */
  payerUserId: string | null;
  /** The destination must be a wallet. */
  walletsOnly: boolean;
}

/** What `move` saw and did: the rows it locked, and whether the money moved. */
export interface MoveOutcome {
  moved: boolean;
  from: Account | undefined;
  to: Account | undefined;
}

/** The guards `move` offers its companions' parts: the movement was allowed, or refused. */
export interface MovementGuards {
  allowed: Guard;
  refused: Guard;
}

/** Adds parts to `move`'s single statement (platform/db/single-statement.ts). */
export type MovementCompanion = Companion<MovementGuards>;

interface EntryRow {
  id: string;
  kind: JournalKind;
  direction: 'debit' | 'credit';
  amount_minor: string | number;
  currency: string;
  counterparty: string;
  balance_after: string | number;
  reference: string | null;
  created_at: Date;
  total_count: number;
}

type LockedRow = Pick<Selectable<AccountsTable>, (typeof accountColumns)[number]> & {
  moved: boolean;
};

/**
 * PostgreSQL-specific, not storage-neutral: domain objects in and out, but `move` is the
 * single statement (data-modifying CTEs, `FOR UPDATE`, a named prepared statement) and runs
 * other repositories' SQL parts inside it; `applyMovement` and `listEntries` are raw SQL too.
 */
export class AccountsRepository {
  constructor(private readonly db: Database) {}

  async findById(id: string, tx: Tx | Database = this.db): Promise<Account | undefined> {
    const row = await tx
      .selectFrom('accounts')
      .select(accountColumns)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toAccount(row);
  }

  async listByUser(userId: string): Promise<Account[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .select(accountColumns)
      .where('user_id', '=', userId)
      .where('kind', '=', 'wallet')
      .orderBy('currency')
      .execute();
    return rows.map(toAccount);
  }

  /** With `lock`, the wallet stays locked until the transaction ends (a refund). */
  async findWallet(userId: string, currency: string, tx: Tx | Database = this.db, lock = false) {
    let query = tx
      .selectFrom('accounts')
      .select(accountColumns)
      .where('kind', '=', 'wallet')
      .where('user_id', '=', userId)
      .where('currency', '=', currency);
    if (lock) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    return row && toAccount(row);
  }

  /** The user's wallet and a system account's rows (the merchant's shards) in one read. */
  async findWalletAndSystem(userId: string, kind: 'issuer' | 'merchant', currency: string) {
    const rows = await this.db
      .selectFrom('accounts')
      .select(accountColumns)
      .where('currency', '=', currency)
      .where((eb) =>
        eb.or([
          eb.and([eb('kind', '=', 'wallet'), eb('user_id', '=', userId)]),
          eb('kind', '=', kind),
        ]),
      )
      .execute();
    const accounts = rows.map(toAccount);
    return {
      wallet: accounts.find((account) => account.kind === 'wallet'),
      system: accounts.filter((account) => account.kind === kind),
    };
  }

  /** A system account's first row (the issuer has only that one). */
  async findSystem(kind: 'issuer' | 'merchant', currency: string, tx: Tx | Database = this.db) {
    const row = await tx
      .selectFrom('accounts')
      .select(accountColumns)
      .where('kind', '=', kind)
      .where('currency', '=', currency)
      .where('shard', '=', 0)
      .executeTakeFirst();
    return row && toAccount(row);
  }

  /** Every row of a system account (the merchant's shards), by shard. */
  async listSystem(kind: 'issuer' | 'merchant', currency: string): Promise<Account[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .select(accountColumns)
      .where('kind', '=', kind)
      .where('currency', '=', currency)
      .orderBy('shard')
      .execute();
    return rows.map(toAccount);
  }

  /**
   * Both balances and the journal row in one statement (one round trip). The CHECK on
   * balances is the last line of defence: a movement that would overdraw fails here.
   */
  async applyMovement(tx: Tx, m: Movement): Promise<Transfer> {
    const result = await sql<Selectable<JournalEntriesTable>>`
      WITH moved AS (
        UPDATE accounts
           SET balance_minor = balance_minor + CASE WHEN id = ${m.fromAccountId}::uuid
                                                    THEN -${m.amount}::bigint
                                                    ELSE ${m.amount}::bigint END,
               updated_at = now()
         WHERE id IN (${m.fromAccountId}::uuid, ${m.toAccountId}::uuid)
        RETURNING id, balance_minor
      )
      INSERT INTO journal_entries (id, kind, from_account_id, to_account_id, amount_minor,
                                   currency, from_balance_after, to_balance_after, reference,
                                   created_by)
      SELECT ${m.id}::uuid, ${m.kind}, ${m.fromAccountId}::uuid, ${m.toAccountId}::uuid,
             ${m.amount}::bigint, ${m.currency},
             (SELECT balance_minor FROM moved WHERE id = ${m.fromAccountId}::uuid),
             (SELECT balance_minor FROM moved WHERE id = ${m.toAccountId}::uuid),
             ${m.reference}, ${m.createdBy}::uuid
      RETURNING id, kind, from_account_id, to_account_id, amount_minor, currency, reference,
                created_at`.execute(tx);
    return toTransfer(result.rows[0]!);
  }

  /**
   * A whole movement as the single statement (platform/db/single-statement.ts), so one round
   * trip and one implicit transaction: both rows locked in id order (opposite movements can't
   * deadlock), the rules and the funds checked on the locked rows, and, only when they held,
   * both balances and the journal row written. The companions' parts write what belongs with
   * the movement (its idempotency key and response, an order and its email) in the same
   * statement, each under a guard: `allowed` or `refused`. An amount of 0 is allowed and moves
   * nothing (a free order). The time and id are the caller's, so the caller knows its result
   * before the statement runs.
   */
  async move(
    m: Movement & { createdAt: Date },
    rules: MovementRules,
    companions: MovementCompanion[] = [],
  ): Promise<MoveOutcome> {
    const allowed = sql<SqlBool>`EXISTS (SELECT FROM allowed)`;
    const guards: MovementGuards = {
      allowed: guard(allowed),
      refused: guard(sql<SqlBool>`NOT EXISTS (SELECT FROM allowed)`),
    };
    const parts = partsSql(companions.flatMap((companion) => companion(guards)));
    const { rows } = await sql<LockedRow>`${sql.raw(PREPARED)}
      WITH locked AS MATERIALIZED (
        SELECT id, kind, user_id, currency, balance_minor, held_minor, created_at, updated_at
          FROM accounts WHERE id IN (${m.fromAccountId}::uuid, ${m.toAccountId}::uuid)
         ORDER BY id FOR UPDATE
      ), allowed AS MATERIALIZED (
        SELECT FROM locked f, locked t
         WHERE f.id = ${m.fromAccountId}::uuid AND t.id = ${m.toAccountId}::uuid
           AND f.currency = ${m.currency} AND t.currency = ${m.currency}
           AND (f.kind = 'issuer' OR f.balance_minor - f.held_minor >= ${m.amount}::bigint)
           AND (${rules.payerUserId}::uuid IS NULL OR f.user_id = ${rules.payerUserId}::uuid)
           AND (NOT ${rules.walletsOnly}::boolean OR t.kind = 'wallet')
      ), moved AS (
        -- From the locked row, not balance_minor: this statement's snapshot may predate the
        -- version it locked, and PostgreSQL checks the CHECK on the tuple built from the
        -- snapshot's version before it finds the newer one. held_minor too, though unchanged:
        -- a hold released meanwhile would leave the snapshot's larger one in that tuple.
        UPDATE accounts a
           SET balance_minor = l.balance_minor + CASE WHEN a.id = ${m.fromAccountId}::uuid
                                                      THEN -${m.amount}::bigint
                                                      ELSE ${m.amount}::bigint END,
               held_minor = l.held_minor,
               updated_at = now()
          FROM locked l
         WHERE a.id = l.id AND EXISTS (SELECT FROM allowed) AND ${m.amount}::bigint > 0
        RETURNING a.id, a.balance_minor
      ), entry AS (
        INSERT INTO journal_entries (id, kind, from_account_id, to_account_id, amount_minor,
                                     currency, from_balance_after, to_balance_after, reference,
                                     created_by, created_at, updated_at)
        SELECT ${m.id}::uuid, ${m.kind}, f.id, t.id, ${m.amount}::bigint, ${m.currency},
               f.balance_minor, t.balance_minor, ${m.reference}, ${m.createdBy}::uuid,
               ${m.createdAt}::timestamptz, ${m.createdAt}::timestamptz
          FROM moved f, moved t
         WHERE f.id = ${m.fromAccountId}::uuid AND t.id = ${m.toAccountId}::uuid
        RETURNING id
      )${parts}
      SELECT locked.*, ${allowed} AS moved FROM locked`.execute(this.db);
    const locked = new Map(rows.map((row) => [row.id, toAccount(row)]));
    return {
      moved: rows[0]?.moved ?? false,
      from: locked.get(m.fromAccountId),
      to: locked.get(m.toAccountId),
    };
  }

  /**
   * Many movements as ONE statement and one commit (the group commit, docs/decisions/0010-
   * group-commit.md): every account any of them touches locked once, in id order; then, in a
   * recursive CTE, each movement checked in arrival order against the balances the ones before
   * it left (the same rules as `move`), so each is allowed or refused on its own; the balances
   * written once, and one journal row per allowed movement. Each member's companions run under
   * that member's own guards. The outcome of member i is what `move` would have answered for it
   * alone, run right after members 0..i-1: the rows it saw, with the balances at its turn.
   */
  async moveBatch(members: readonly BatchMember[]): Promise<MoveOutcome[]> {
    const input = members.map(({ movement: m, rules }, i) => ({
      n: i + 1,
      id: m.id,
      kind: m.kind,
      from_id: m.fromAccountId,
      to_id: m.toAccountId,
      amount: m.amount,
      currency: m.currency,
      reference: m.reference,
      created_by: m.createdBy,
      created_at: m.createdAt.toISOString(),
      payer: rules.payerUserId,
      wallets_only: rules.walletsOnly,
    }));
    // A member's outcome, as its guards and its rows in the merged inserts ask for it.
    const outcomeHolds = (member: RawBuilder<number>, allowed: RawBuilder<boolean>) =>
      sql<SqlBool>`EXISTS (SELECT FROM outcome o WHERE o.n = ${member} AND o.ok = ${allowed})`;
    const parts = members.flatMap(({ companions }, i) => {
      const n = i + 1;
      const guardOf = (allowed: boolean) =>
        guard(outcomeHolds(sql`${n}::int`, sql.lit(allowed)), { member: n, allowed });
      const guards: MovementGuards = { allowed: guardOf(true), refused: guardOf(false) };
      return companions.flatMap((companion) => companion(guards));
    });
    // Every member's rows for one table in one insert, each under its member's outcome.
    const companionCtes = batchPartsSql(parts, outcomeHolds);
    const { rows } = await sql<BatchRow>`
      WITH RECURSIVE input AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb)
          AS m(n int, id uuid, kind text, from_id uuid, to_id uuid, amount bigint, currency text,
               reference text, created_by uuid, created_at timestamptz, payer uuid,
               wallets_only boolean)
      ), locked AS MATERIALIZED (
        SELECT id, kind, user_id, currency, balance_minor, held_minor, created_at, updated_at
          FROM accounts
         WHERE id IN (SELECT from_id FROM input UNION SELECT to_id FROM input)
         ORDER BY id FOR UPDATE
      ), deltas AS MATERIALIZED (
        SELECT n, 'f' AS side, from_id AS id, -amount AS delta FROM input
        UNION ALL
        SELECT n, 't', to_id, amount FROM input
      ), prior AS MATERIALIZED (
        -- Each member's balances before it, were every member before it allowed.
        SELECT d.n, d.side,
               l.balance_minor + coalesce(sum(d.delta) OVER (
                 PARTITION BY d.id ORDER BY d.n
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
          FROM deltas d LEFT JOIN locked l ON l.id = d.id
      ), fast AS MATERIALIZED (
        SELECT m.n, ${allowedAt(sql`pf.before`)} AS ok, pf.before AS fb, pt.before AS tb
          FROM input m
          JOIN prior pf ON pf.n = m.n AND pf.side = 'f'
          JOIN prior pt ON pt.n = m.n AND pt.side = 't'
          LEFT JOIN locked f ON f.id = m.from_id
          LEFT JOIN locked t ON t.id = m.to_id
      ), verdict AS MATERIALIZED (
        SELECT coalesce(bool_and(ok), true) AS all_allowed FROM fast
      ), steps (n, balances, ok, fb, tb) AS (
        -- Only when some member is refused: the running balances (account id -> balance),
        -- from the locked rows, each member checked against what the allowed ones before it
        -- left. This statement's snapshot may predate the versions it locked.
        SELECT 0, coalesce((SELECT jsonb_object_agg(id::text, balance_minor) FROM locked),
                           '{}'::jsonb), true, NULL::bigint, NULL::bigint
        UNION ALL
        SELECT m.n,
               CASE WHEN d.ok AND m.amount > 0
                    THEN jsonb_set(jsonb_set(s.balances, ARRAY[m.from_id::text],
                                             to_jsonb(b.fb - m.amount)),
                                   ARRAY[m.to_id::text], to_jsonb(b.tb + m.amount))
                    ELSE s.balances END,
               d.ok, b.fb, b.tb
          FROM steps s
          JOIN input m ON m.n = s.n + 1
          LEFT JOIN locked f ON f.id = m.from_id
          LEFT JOIN locked t ON t.id = m.to_id
          CROSS JOIN LATERAL (
            SELECT (s.balances ->> m.from_id::text)::bigint AS fb,
                   (s.balances ->> m.to_id::text)::bigint AS tb
          ) b
          CROSS JOIN LATERAL (SELECT ${allowedAt(sql`b.fb`)} AS ok) d
      ), outcome AS MATERIALIZED (
        -- When every member is allowed in turn, the running sums are the answer and the
        -- member-by-member walk never runs.
        SELECT n, ok, fb, tb FROM fast WHERE (SELECT all_allowed FROM verdict)
        UNION ALL
        SELECT n, ok, fb, tb FROM steps WHERE n > 0 AND NOT (SELECT all_allowed FROM verdict)
      ), totals AS MATERIALIZED (
        SELECT d.id, sum(d.delta) AS delta
          FROM deltas d JOIN outcome o USING (n)
         WHERE o.ok AND d.delta <> 0
         GROUP BY d.id
      ), moved AS (
        -- held_minor from the locked row, as in move: a batch changes no hold.
        UPDATE accounts a
           SET balance_minor = l.balance_minor + tt.delta, held_minor = l.held_minor,
               updated_at = now()
          FROM totals tt JOIN locked l ON l.id = tt.id
         WHERE a.id = tt.id
        RETURNING a.id
      ), entry AS (
        INSERT INTO journal_entries (id, kind, from_account_id, to_account_id, amount_minor,
                                     currency, from_balance_after, to_balance_after, reference,
                                     created_by, created_at, updated_at)
        SELECT m.id, m.kind, m.from_id, m.to_id, m.amount, m.currency, o.fb - m.amount,
               o.tb + m.amount, m.reference, m.created_by, m.created_at, m.created_at
          FROM input m JOIN outcome o USING (n)
         WHERE o.ok AND m.amount > 0
        RETURNING id
      )${companionCtes}
      SELECT o.n, o.ok, o.fb::text AS fb, o.tb::text AS tb,
             f.id AS f_id, f.kind AS f_kind, f.user_id AS f_user_id, f.currency AS f_currency,
             f.held_minor::text AS f_held, f.created_at AS f_created_at,
             f.updated_at AS f_updated_at,
             t.id AS t_id, t.kind AS t_kind, t.user_id AS t_user_id, t.currency AS t_currency,
             t.held_minor::text AS t_held, t.created_at AS t_created_at,
             t.updated_at AS t_updated_at
        FROM outcome o
        JOIN input m USING (n)
        LEFT JOIN locked f ON f.id = m.from_id
        LEFT JOIN locked t ON t.id = m.to_id
       ORDER BY o.n`.execute(this.db);
    if (rows.length !== members.length) {
      throw new Error(`A batch of ${members.length} movements answered ${rows.length} outcomes`);
    }
    return rows.map((row) => ({
      moved: row.ok,
      from: batchAccount(row, 'f', row.fb),
      to: batchAccount(row, 't', row.tb),
    }));
  }

  async findTransfer(id: string, tx: Tx | Database = this.db): Promise<Transfer | undefined> {
    const row = await tx
      .selectFrom('journal_entries')
      .select(transferColumns)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toTransfer(row);
  }

  /** An account's statement, newest first: two index scans (as payer, as payee) merged. */
  async listEntries(accountId: string, offset: number, limit: number) {
    const { rows } = await sql<EntryRow>`
      SELECT e.*, (count(*) OVER ())::int AS total_count FROM (
        SELECT id, kind, 'debit' AS direction, amount_minor, currency,
               to_account_id AS counterparty, from_balance_after AS balance_after, reference,
               created_at
          FROM journal_entries WHERE from_account_id = ${accountId}::uuid
        UNION ALL
        SELECT id, kind, 'credit' AS direction, amount_minor, currency,
               from_account_id AS counterparty, to_balance_after AS balance_after, reference,
               created_at
          FROM journal_entries WHERE to_account_id = ${accountId}::uuid
      ) e
      ORDER BY created_at DESC, id DESC
      OFFSET ${offset} LIMIT ${limit}`.execute(this.db);
    let totalCount = rows[0]?.total_count;
    // A page past the end has no rows to carry the total: count on its own.
    totalCount ??= offset > 0 ? await this.countEntries(accountId) : 0;
    return { items: rows.map(toEntry), totalCount };
  }

  private async countEntries(accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('journal_entries')
      .select(sql<number>`count(*)::int`.as('n'))
      .where((eb) =>
        eb.or([eb('from_account_id', '=', accountId), eb('to_account_id', '=', accountId)]),
      )
      .executeTakeFirstOrThrow();
    return row.n;
  }

  /** A wallet for the user in the currency, unless one exists. */
  async openWallet(tx: Tx | Database, id: string, userId: string, currency: string) {
    await tx
      .insertInto('accounts')
      .values({ id, kind: 'wallet', user_id: userId, currency })
      .onConflict((oc) =>
        oc.columns(['user_id', 'currency']).where('kind', '=', 'wallet').doNothing(),
      )
      .execute();
  }

  async openSystemAccount(id: string, kind: 'issuer' | 'merchant', currency: string, shard = 0) {
    await this.db
      .insertInto('accounts')
      .values({ id, kind, user_id: null, currency, shard })
      .onConflict((oc) =>
        oc.columns(['kind', 'currency', 'shard']).where('kind', '<>', 'wallet').doNothing(),
      )
      .execute();
  }

  /**
   * Wallets for users that have none (users created before the ledger existed). Their ids are
   * random UUIDs (v4) made by the database: the time order of v7 has nothing to add here.
   */
  async openMissingWallets(currency: string): Promise<number> {
    const result = await this.db
      .insertInto('accounts')
      .columns(['id', 'kind', 'user_id', 'currency'])
      .expression((eb) =>
        eb
          .selectFrom('users')
          .select([
            sql<string>`gen_random_uuid()`.as('id'),
            sql<AccountKind>`'wallet'`.as('kind'),
            'users.id as user_id',
            sql<string>`${currency}`.as('currency'),
          ])
          .where((w) =>
            w.not(
              w.exists(
                w
                  .selectFrom('accounts')
                  .select('accounts.id')
                  .whereRef('accounts.user_id', '=', 'users.id')
                  .where('accounts.kind', '=', 'wallet')
                  .where('accounts.currency', '=', currency),
              ),
            ),
          ),
      )
      // Another process starting at the same moment may open the same wallets.
      .onConflict((oc) =>
        oc.columns(['user_id', 'currency']).where('kind', '=', 'wallet').doNothing(),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }
}

/** One movement of a batch (`moveBatch`), with its rules and companions, as for `move`. */
export interface BatchMember {
  movement: Movement & { createdAt: Date };
  rules: MovementRules;
  companions: readonly MovementCompanion[];
}

type BatchSide = 'f' | 't';
type BatchRow = { n: number; ok: boolean; fb: string | null; tb: string | null } & {
  [K in `${BatchSide}_${'id' | 'kind' | 'user_id' | 'currency' | 'held'}`]: string | null;
} & { [K in `${BatchSide}_${'created_at' | 'updated_at'}`]: Date | null };

/**
 * A batch member's rules (the same as `move`'s), with `fromBalance` the payer's balance at its
 * turn; over the batch statement's `input m`, `locked f` (payer) and `locked t` (payee).
 */
function allowedAt(fromBalance: RawBuilder<unknown>): RawBuilder<SqlBool> {
  return sql<SqlBool>`coalesce(f.id IS NOT NULL AND t.id IS NOT NULL AND m.from_id <> m.to_id
                    AND m.amount >= 0
                    AND f.currency = m.currency AND t.currency = m.currency
                    AND (f.kind = 'issuer' OR ${fromBalance} - f.held_minor >= m.amount)
                    AND (m.payer IS NULL OR f.user_id = m.payer)
                    AND (NOT m.wallets_only OR t.kind = 'wallet'), false)`;
}

/** A side of a batch member as `move` would have locked it: the balance at the member's turn. */
function batchAccount(row: BatchRow, side: BatchSide, balance: string | null): Account | undefined {
  const id = row[`${side}_id`];
  if (id === null) return undefined;
  return {
    id,
    kind: row[`${side}_kind`] as AccountKind,
    userId: row[`${side}_user_id`],
    currency: row[`${side}_currency`]!,
    balance: Number(balance),
    held: Number(row[`${side}_held`]),
    available: Number(balance) - Number(row[`${side}_held`]),
    createdAt: row[`${side}_created_at`]!,
    updatedAt: row[`${side}_updated_at`]!,
  };
}

function toEntry(row: EntryRow): AccountEntry {
  return {
    id: row.id,
    kind: row.kind,
    direction: row.direction,
    amount: Number(row.amount_minor),
    currency: row.currency,
    counterpartyAccountId: row.counterparty,
    balanceAfter: Number(row.balance_after),
    reference: row.reference,
    createdAt: row.created_at,
  };
}
