import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { deleteBatch, olderThan } from '../../platform/db/delete-batch.js';
import { isUniqueViolation, UniqueViolationError } from '../../platform/db/errors.js';
import type { Tx } from '../../platform/db/transaction.js';

export interface NewPendingLogin {
  stateHash: string;
  browserHash: string;
  codeVerifier: string;
  nonce: string;
  ttlMs: number;
}

/** A pending sign-in as the callback finds it, before it is spent. */
export interface PendingLogin {
  browserHash: string;
  codeVerifier: string;
  nonce: string;
  expired: boolean;
  consumed: boolean;
}

/** Spent logins stay this long past their expiry, so a replayed state is told apart from junk. */
const SPENT_RETENTION_MS = 24 * 3_600_000;

/**
 * Pending OpenID sign-ins (state → PKCE verifier, nonce, browser binding) and the links from a
 * provider's (issuer, subject) to a user. Storage-neutral: plain values in and out.
 */
export class OidcRepository {
  constructor(private readonly db: Database) {}

  async insertPending(login: NewPendingLogin): Promise<void> {
    await this.db
      .insertInto('oidc_logins')
      .values({
        state_hash: login.stateHash,
        browser_hash: login.browserHash,
        code_verifier: login.codeVerifier,
        nonce: login.nonce,
        expires_at: sql<Date>`now() + ${login.ttlMs} * interval '1 millisecond'`,
      })
      .execute();
  }

  /** The pending sign-in of this state, whatever its condition; expiry on the database's clock. */
  async findPending(stateHash: string): Promise<PendingLogin | undefined> {
    const row = await this.db
      .selectFrom('oidc_logins')
      .select([
        'browser_hash',
        'code_verifier',
        'nonce',
        sql<boolean>`expires_at <= now()`.as('expired'),
        sql<boolean>`consumed_at is not null`.as('consumed'),
      ])
      .where('state_hash', '=', stateHash)
      .executeTakeFirst();
    return (
      row && {
        browserHash: row.browser_hash,
        codeVerifier: row.code_verifier,
        nonce: row.nonce,
        expired: row.expired,
        consumed: row.consumed,
      }
    );
  }

  /**
   * Spends the sign-in: true for the one caller that does, false for every other (one statement,
   * so two callbacks racing with the same state can't both go on).
   */
  async consumePending(stateHash: string): Promise<boolean> {
    const result = await this.db
      .updateTable('oidc_logins')
      .set({ consumed_at: sql`now()`, updated_at: sql`now()` })
      .where('state_hash', '=', stateHash)
      .where('consumed_at', 'is', null)
      .where(sql<boolean>`expires_at > now()`)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** For the pruner: sign-ins a day past their expiry, spent or not. */
  pruneExpired(limit: number): Promise<number> {
    return deleteBatch(
      this.db,
      'oidc_logins',
      'state_hash',
      olderThan(sql`expires_at`, SPENT_RETENTION_MS),
      limit,
    );
  }

  async findLinkedUserId(issuer: string, subject: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('user_identities')
      .select('user_id')
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return row?.user_id;
  }

  /** Throws UniqueViolationError when the identity is linked already (a concurrent sign-in). */
  async link(identity: { issuer: string; subject: string; userId: string }, tx: Tx) {
    try {
      await tx
        .insertInto('user_identities')
        .values({ issuer: identity.issuer, subject: identity.subject, user_id: identity.userId })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new UniqueViolationError(err.constraint);
      throw err;
    }
  }
}
