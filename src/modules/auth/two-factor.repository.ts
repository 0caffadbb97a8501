import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { Tx } from '../../platform/db/transaction.js';

/** An account's TOTP enrolment, its secret still sealed. */
export interface StoredTwoFactor {
  userId: string;
  secretCiphertext: Uint8Array;
  /** Null while the enrolment waits for its first code. */
  enabledAt: Date | null;
  lastStep: number | null;
}

export interface StoredChallenge {
  id: string;
  userId: string;
  expired: boolean;
}

type Db = Database | Tx;

/** TOTP enrolments, recovery codes (by hash) and sign-in challenges (by hash). */
export class TwoFactorRepository {
  constructor(private readonly db: Database) {}

  async find(userId: string, db: Db = this.db): Promise<StoredTwoFactor | undefined> {
    const row = await db
      .selectFrom('two_factor')
      .select(['user_id', 'secret_ciphertext', 'enabled_at', 'last_step'])
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && toTwoFactor(row);
  }

  /** Whether each of `userIds` has two-factor enabled (GraphQL's batched field). */
  async enabledAmong(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('two_factor')
      .select('user_id')
      .where('user_id', 'in', userIds)
      .where('enabled_at', 'is not', null)
      .execute();
    return new Set(rows.map((row) => row.user_id));
  }

  /**
   * A new pending enrolment, or a new secret for a pending one. Undefined when the account has
   * two-factor enabled: the conditional upsert decides, however many start at once.
   */
  async savePending(userId: string, secretCiphertext: Uint8Array): Promise<boolean> {
    const row = await this.db
      .insertInto('two_factor')
      .values({ user_id: userId, secret_ciphertext: secretCiphertext })
      .onConflict((oc) =>
        oc
          .column('user_id')
          .doUpdateSet({
            secret_ciphertext: secretCiphertext,
            last_step: null,
            updated_at: sql`now()`,
          })
          .where('two_factor.enabled_at', 'is', null),
      )
      .returning('user_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Enables the pending enrolment whose sealed secret is `secretCiphertext` (the one the first
   * code was checked against) with that code's step; undefined if it isn't pending any more or
   * was replaced by a new start meanwhile.
   */
  async enable(
    userId: string,
    secretCiphertext: Uint8Array,
    step: number,
    tx: Tx,
  ): Promise<Date | undefined> {
    const row = await tx
      .updateTable('two_factor')
      .set({ enabled_at: sql`now()`, last_step: step, updated_at: sql`now()` })
      .where('user_id', '=', userId)
      .where('enabled_at', 'is', null)
      .where('secret_ciphertext', '=', secretCiphertext)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .returning('enabled_at')
      .executeTakeFirst();
    return row?.enabled_at ?? undefined;
  }

  /**
   * Records `step` as the last accepted one if it is later than the last: true for the one
   * caller that moved it. A code is accepted once, whatever races it.
   */
  async acceptStep(userId: string, step: number, tx: Db = this.db): Promise<boolean> {
    const row = await tx
      .updateTable('two_factor')
      .set({ last_step: step, updated_at: sql`now()` })
      .where('user_id', '=', userId)
      .where('enabled_at', 'is not', null)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .returning('user_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Removes the enrolment (pending or enabled), its recovery codes and challenges. */
  async remove(userId: string, tx: Tx): Promise<boolean> {
    await tx.deleteFrom('two_factor_recovery_codes').where('user_id', '=', userId).execute();
    await tx.deleteFrom('two_factor_challenges').where('user_id', '=', userId).execute();
    const removed = await tx
      .deleteFrom('two_factor')
      .where('user_id', '=', userId)
      .returning('user_id')
      .executeTakeFirst();
    return removed !== undefined;
  }

  /** Replaces the account's recovery codes with these (hashes). */
  async replaceRecoveryCodes(
    userId: string,
    codes: readonly { id: string; hash: string }[],
    tx: Tx,
  ): Promise<void> {
    await tx.deleteFrom('two_factor_recovery_codes').where('user_id', '=', userId).execute();
    await tx
      .insertInto('two_factor_recovery_codes')
      .values(codes.map((code) => ({ id: code.id, user_id: userId, code_hash: code.hash })))
      .execute();
  }

  /** Spends the code with this hash if it is the account's and unspent: true for one caller. */
  async useRecoveryCode(userId: string, hash: string, tx: Tx): Promise<boolean> {
    const row = await tx
      .updateTable('two_factor_recovery_codes')
      .set({ used_at: sql`now()`, updated_at: sql`now()` })
      .where('user_id', '=', userId)
      .where('code_hash', '=', hash)
      .where('used_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async countUnusedRecoveryCodes(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('two_factor_recovery_codes')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertChallenge(challenge: {
    id: string;
    userId: string;
    tokenHash: string;
    ttlMs: number;
  }): Promise<void> {
    await this.db
      .insertInto('two_factor_challenges')
      .values({
        id: challenge.id,
        user_id: challenge.userId,
        token_hash: challenge.tokenHash,
        expires_at: sql<Date>`now() + make_interval(secs => ${challenge.ttlMs / 1000})`,
      })
      .execute();
  }

  /** The unspent challenge with this token hash, and whether it is past its lifetime. */
  async findChallenge(tokenHash: string): Promise<StoredChallenge | undefined> {
    const row = await this.db
      .selectFrom('two_factor_challenges')
      .select(['id', 'user_id', sql<boolean>`expires_at <= now()`.as('expired')])
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return row && { id: row.id, userId: row.user_id, expired: row.expired };
  }

  /** Spends a live challenge: true for the one caller that did. */
  async spendChallenge(id: string, tx: Tx): Promise<boolean> {
    const row = await tx
      .updateTable('two_factor_challenges')
      .set({ used_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Deletes up to `limit` challenges past their lifetime (the pruner); returns how many. */
  async pruneChallenges(limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('two_factor_challenges')
      .where(
        'id',
        'in',
        this.db
          .selectFrom('two_factor_challenges')
          .select('id')
          .where('expires_at', '<', sql<Date>`now()`)
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toTwoFactor(row: {
  user_id: string;
  secret_ciphertext: Uint8Array;
  enabled_at: Date | null;
  last_step: string | number | bigint | null;
}): StoredTwoFactor {
  return {
    userId: row.user_id,
    secretCiphertext: row.secret_ciphertext,
    enabledAt: row.enabled_at,
    lastStep: row.last_step === null ? null : Number(row.last_step),
  };
}
