import { sql } from 'kysely';
import { REFRESH_REUSE_GRACE_MAX_MS } from '../../platform/auth/tokens.js';
import type { Database } from '../../platform/db/database.js';
import type { Tx } from '../../platform/db/transaction.js';

export interface StoredRefreshToken {
  id: string;
  familyId: string;
  userId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  /** The spent token's successor, sealed; see sealSuccessor. */
  successorCiphertext: Uint8Array | null;
  /** The database's clock when the row was read: what usedAt is measured against. */
  readAt: Date;
}

export interface NewRefreshToken {
  id: string;
  familyId: string;
  userId: string;
  tokenHash: string;
  expiresAt: Date;
}

/** Refresh tokens, stored by hash, grouped in families (one per login). */
export interface SessionsRepository {
  insert(token: NewRefreshToken, tx?: Tx): Promise<void>;
  /** Locks the row until the transaction ends, so one token is spent once. */
  findByHashForUpdate(tokenHash: string, tx: Tx): Promise<StoredRefreshToken | undefined>;
  /** Spends the token; `successor` is its successor sealed for the reuse grace, if any. */
  markUsed(id: string, successor: Uint8Array | null, tx: Tx): Promise<void>;
  /** Drops up to `limit` sealed successors older than any grace window; returns how many. */
  clearStaleSuccessors(limit: number): Promise<number>;
  revokeFamily(familyId: string, tx?: Tx): Promise<void>;
  /** Revokes every live family of the user and returns their ids. */
  revokeAllForUser(userId: string, tx?: Tx): Promise<string[]>;
}

export class PostgresSessionsRepository implements SessionsRepository {
  constructor(private readonly db: Database) {}

  async insert(token: NewRefreshToken, tx: Tx | Database = this.db) {
    await tx
      .insertInto('refresh_tokens')
      .values({
        id: token.id,
        family_id: token.familyId,
        user_id: token.userId,
        token_hash: token.tokenHash,
        expires_at: token.expiresAt,
      })
      .execute();
  }

  async findByHashForUpdate(tokenHash: string, tx: Tx) {
    const row = await tx
      .selectFrom('refresh_tokens')
      .select([
        'id',
        'family_id',
        'user_id',
        'expires_at',
        'used_at',
        'revoked_at',
        'successor_ciphertext',
        sql<Date>`now()`.as('read_at'),
      ])
      .where('token_hash', '=', tokenHash)
      .forUpdate()
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        familyId: row.family_id,
        userId: row.user_id,
        expiresAt: row.expires_at,
        usedAt: row.used_at,
        revokedAt: row.revoked_at,
        successorCiphertext: row.successor_ciphertext,
        readAt: row.read_at,
      }
    );
  }

  async markUsed(id: string, successor: Uint8Array | null, tx: Tx) {
    await tx
      .updateTable('refresh_tokens')
      .set({ used_at: sql`now()`, successor_ciphertext: successor, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute();
  }

  async clearStaleSuccessors(limit: number): Promise<number> {
    // The longest window any configuration allows, so no process loses one it still honours.
    const cutoff = sql<Date>`now() - make_interval(secs => ${REFRESH_REUSE_GRACE_MAX_MS / 1000})`;
    const result = await this.db
      .updateTable('refresh_tokens')
      .set({ successor_ciphertext: null })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('refresh_tokens')
          .select('id')
          .where('successor_ciphertext', 'is not', null)
          .where('used_at', '<', cutoff)
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async revokeFamily(familyId: string, tx: Tx | Database = this.db) {
    await tx
      .updateTable('refresh_tokens')
      .set({ revoked_at: sql`now()`, successor_ciphertext: null, updated_at: sql`now()` })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revokeAllForUser(userId: string, tx: Tx | Database = this.db) {
    const rows = await tx
      .updateTable('refresh_tokens')
      .set({ revoked_at: sql`now()`, successor_ciphertext: null, updated_at: sql`now()` })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning('family_id')
      .execute();
    return [...new Set(rows.map((r) => r.family_id))];
  }
}
