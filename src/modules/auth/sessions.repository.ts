import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { Tx } from '../../platform/db/transaction.js';

export interface StoredRefreshToken {
  id: string;
  familyId: string;
  userId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
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
  markUsed(id: string, tx: Tx): Promise<void>;
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
      .select(['id', 'family_id', 'user_id', 'expires_at', 'used_at', 'revoked_at'])
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
      }
    );
  }

  async markUsed(id: string, tx: Tx) {
    await tx
      .updateTable('refresh_tokens')
      .set({ used_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute();
  }

  async revokeFamily(familyId: string, tx: Tx | Database = this.db) {
    await tx
      .updateTable('refresh_tokens')
      .set({ revoked_at: sql`now()`, updated_at: sql`now()` })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revokeAllForUser(userId: string, tx: Tx | Database = this.db) {
    const rows = await tx
      .updateTable('refresh_tokens')
      .set({ revoked_at: sql`now()`, updated_at: sql`now()` })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning('family_id')
      .execute();
    return [...new Set(rows.map((r) => r.family_id))];
  }
}
