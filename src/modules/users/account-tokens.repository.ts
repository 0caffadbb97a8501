import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../../platform/db/database.js';
import { deleteBatch } from '../../platform/db/delete-batch.js';
import { isUniqueViolation, UniqueViolationError } from '../../platform/db/errors.js';
import type { AccountTokenPurpose } from '../../platform/db/schema.js';
import type { Tx } from '../../platform/db/transaction.js';

export type { AccountTokenPurpose };

/** 32 random bytes (256 bits), base64url: what the email carries, never stored. */
export function newAccountToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored and looked up: the token's SHA-256 (hex). */
export function hashAccountToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A token spent by `consume`: whose it was and the address it is about. */
export interface ConsumedToken {
  id: string;
  userId: string;
  email: string;
}

/**
 * The one-time tokens mailed to users (migration 0021), and the few writes to the user's row
 * their use makes, so a token and its effect commit in one transaction. The database's clock
 * decides expiry, on issue and on use, so processes with drifting clocks agree.
 */
export class AccountTokensRepository {
  constructor(private readonly db: Database) {}

  /**
   * A new token for the user, if `userId` still holds `email` (and, for verify-email, is
   * unverified): a job that runs after the address changed or was verified issues nothing.
   * Returns the token itself, which only the email will carry.
   */
  async issue(
    purpose: AccountTokenPurpose,
    userId: string,
    email: string,
    ttlMs: number,
  ): Promise<string | undefined> {
    const token = newAccountToken();
    // change-email: `email` is the new address, the user keeps the old one until confirmed.
    const holds =
      purpose === 'change-email'
        ? sql<boolean>`true`
        : sql<boolean>`lower(users.email) = lower(${email})`;
    const unverified =
      purpose === 'verify-email'
        ? sql<boolean>`users.email_verified_at is null`
        : sql<boolean>`true`;
    const result = await sql`
      insert into account_tokens (id, user_id, purpose, token_hash, email, expires_at)
      select ${uuidv7()}::uuid, users.id, ${purpose}, ${hashAccountToken(token)}, ${email},
             now() + ${ttlMs} * interval '1 millisecond'
        from users
       where users.id = ${userId}::uuid and ${holds} and ${unverified}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0) === 1 ? token : undefined;
  }

  /** Whether a live token of this purpose has this hash (no lock, nothing spent). */
  async isLive(
    purpose: AccountTokenPurpose,
    tokenHash: string,
  ): Promise<ConsumedToken | undefined> {
    const row = await this.db
      .selectFrom('account_tokens')
      .select(['id', 'user_id', 'email'])
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row && { id: row.id, userId: row.user_id, email: row.email };
  }

  /**
   * Spends the token: one conditional UPDATE, so of two uses at once exactly one gets the row
   * (the other waits for its row lock, then finds it consumed). In the transaction that makes
   * the token's effect: if the effect fails, the token is not spent.
   */
  async consume(
    purpose: AccountTokenPurpose,
    tokenHash: string,
    tx: Tx,
  ): Promise<ConsumedToken | undefined> {
    const row = await tx
      .updateTable('account_tokens')
      .set({ consumed_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['id', 'user_id', 'email'])
      .executeTakeFirst();
    return row && { id: row.id, userId: row.user_id, email: row.email };
  }

  /** Spends every outstanding token of the user for these purposes (a reset ends the others). */
  async consumeAll(userId: string, purposes: AccountTokenPurpose[], tx: Tx): Promise<number> {
    const result = await tx
      .updateTable('account_tokens')
      .set({ consumed_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where('user_id', '=', userId)
      .where('purpose', 'in', purposes)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Marks the address verified, if the user still holds it. False when not. */
  async markVerified(userId: string, email: string, tx: Tx): Promise<boolean> {
    const result = await tx
      .updateTable('users')
      .set({
        email_verified_at: sql<Date>`coalesce(email_verified_at, now())`,
        version: sql`version + 1`,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', userId)
      .where(sql<string>`lower(email)`, '=', sql<string>`lower(${email})`)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async setPassword(userId: string, passwordHash: string, tx: Tx): Promise<boolean> {
    const result = await tx
      .updateTable('users')
      .set({ password_hash: passwordHash, version: sql`version + 1`, updated_at: sql<Date>`now()` })
      .where('id', '=', userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * The confirmed new address, verified by the confirmation. Returns the old address, or
   * undefined when the user is gone; UniqueViolationError when another account holds it now.
   */
  async setVerifiedEmail(userId: string, email: string, tx: Tx): Promise<string | undefined> {
    try {
      const before = await tx
        .selectFrom('users')
        .select('email')
        .where('id', '=', userId)
        .forUpdate()
        .executeTakeFirst();
      if (!before) return undefined;
      await tx
        .updateTable('users')
        .set({
          email,
          email_verified_at: sql<Date>`now()`,
          version: sql`version + 1`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', userId)
        .execute();
      return before.email;
    } catch (err) {
      if (isUniqueViolation(err)) throw new UniqueViolationError(err.constraint);
      throw err;
    }
  }

  /** Deletes up to `limit` tokens that can no longer be used: spent, or past their expiry. */
  prune(limit: number): Promise<number> {
    return deleteBatch(
      this.db,
      'account_tokens',
      'id',
      sql<boolean>`consumed_at is not null or expires_at < now()`,
      limit,
    );
  }
}
