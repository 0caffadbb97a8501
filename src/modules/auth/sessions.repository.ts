import { sql } from 'kysely';
import { REFRESH_REUSE_GRACE_MAX_MS } from '../../platform/auth/tokens.js';
import type { Database } from '../../platform/db/database.js';
import { deleteBatch, olderThan } from '../../platform/db/delete-batch.js';
import type { SessionEndReason } from '../../platform/db/schema.js';
import type { Tx } from '../../platform/db/transaction.js';
import type { Page } from '../../platform/paging.js';

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
  /** When the token's session ended, if it did. */
  sessionEndedAt: Date | null;
}

export interface NewRefreshToken {
  id: string;
  familyId: string;
  userId: string;
  tokenHash: string;
  expiresAt: Date;
}

/** A session as its user sees it. */
export interface StoredSession {
  id: string;
  userId: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** A session that has just been ended, for the deny list and the security log. */
export interface EndedSession {
  id: string;
  userId: string;
}

/**
 * Login sessions (one row each) and their refresh tokens, stored by hash, in families (one per
 * session). Writes that touch both lock the tokens first and the session second, everywhere, so
 * a refresh and an end of the same session never wait for each other in a cycle.
 */
export interface SessionsRepository {
  /** The session and its first refresh token, in one statement. */
  start(
    session: { userId: string; ip: string | null; userAgent: string | null },
    token: NewRefreshToken,
  ): Promise<void>;
  /** Locks the token row until the transaction ends, so one token is spent once. */
  findByHashForUpdate(tokenHash: string, tx: Tx): Promise<StoredRefreshToken | undefined>;
  /**
   * Spends `spentId` for `next` and records the use on the session, in one statement; does
   * nothing and returns false when the session has ended meanwhile. `successor` is `next`'s
   * token sealed for the reuse grace, if any.
   */
  rotate(
    spentId: string,
    successor: Uint8Array | null,
    next: NewRefreshToken,
    tx: Tx,
  ): Promise<boolean>;
  /** Drops up to `limit` sealed successors older than any grace window; returns how many. */
  clearStaleSuccessors(limit: number): Promise<number>;
  /**
   * Revokes the family's tokens and ends the session (if it is `userId`'s, when given). Returns
   * the session when this call ended it.
   */
  endSession(
    sessionId: string,
    reason: SessionEndReason,
    tx: Tx,
    userId?: string,
  ): Promise<EndedSession | undefined>;
  /** Revokes every token of the user and ends their live sessions but `except`; returns those. */
  endAllForUser(
    userId: string,
    reason: SessionEndReason,
    tx: Tx,
    except?: string,
  ): Promise<EndedSession[]>;
  /** Sessions ended in the last `withinMs` ms, and how long ago (the deny list's rebuild). */
  recentlyEnded(withinMs: number): Promise<{ id: string; endedAgoMs: number }[]>;
  /** Whether the session has ended (the deny list's answer while Redis can't give one). */
  hasEnded(sessionId: string): Promise<boolean>;
  /** The user's live sessions (not ended, not expired), most recently used first. */
  listLive(userId: string, offset: number, limit: number): Promise<Page<StoredSession>>;
  /** Deletes up to `limit` sessions ended more than `retentionMs` ago (their tokens with them). */
  pruneEnded(retentionMs: number, limit: number): Promise<number>;
  /** Deletes up to `limit` sessions expired more than `retentionMs` ago (their tokens with them). */
  pruneExpired(retentionMs: number, limit: number): Promise<number>;
  /**
   * Deletes up to `limit` spent refresh tokens past their own expiry. Until then a spent token
   * that comes back still ends its session (reuse detection); after it, it is refused as
   * unknown instead: an expired token buys nothing either way, only the alarm is lost.
   */
  pruneSpentTokens(limit: number): Promise<number>;
}

const revoked = {
  revoked_at: sql<Date>`now()`,
  successor_ciphertext: null,
  updated_at: sql<Date>`now()`,
};

const ended = (reason: SessionEndReason) => ({
  ended_at: sql<Date>`now()`,
  end_reason: reason,
  updated_at: sql<Date>`now()`,
});

export class PostgresSessionsRepository implements SessionsRepository {
  constructor(private readonly db: Database) {}

  async start(
    session: { userId: string; ip: string | null; userAgent: string | null },
    token: NewRefreshToken,
  ) {
    await sql`
      with session as (
        insert into sessions (id, user_id, expires_at, ip, user_agent)
        values (${token.familyId}::uuid, ${session.userId}::uuid, ${token.expiresAt}::timestamptz,
                ${session.ip}::text, ${session.userAgent}::text)
        returning id)
      insert into refresh_tokens (id, family_id, user_id, token_hash, expires_at)
      select ${token.id}::uuid, session.id, ${token.userId}::uuid, ${token.tokenHash}::text,
             ${token.expiresAt}::timestamptz
        from session`.execute(this.db);
  }

  async findByHashForUpdate(tokenHash: string, tx: Tx) {
    const row = await tx
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.family_id')
      .select([
        'refresh_tokens.id',
        'refresh_tokens.family_id',
        'refresh_tokens.user_id',
        'refresh_tokens.expires_at',
        'refresh_tokens.used_at',
        'refresh_tokens.revoked_at',
        'refresh_tokens.successor_ciphertext',
        'sessions.ended_at',
        sql<Date>`now()`.as('read_at'),
      ])
      .where('refresh_tokens.token_hash', '=', tokenHash)
      // The token only: the session is locked by rotate's write, after the token, as everywhere.
      .forUpdate('refresh_tokens')
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
        sessionEndedAt: row.ended_at,
      }
    );
  }

  async rotate(spentId: string, successor: Uint8Array | null, next: NewRefreshToken, tx: Tx) {
    // One round trip: the session's row is updated only while it hasn't ended (re-checked on
    // its newest version once its lock is ours), and the token writes happen only if it was.
    const result = await sql<{ continued: number }>`
      with session as (
        update sessions
           set last_used_at = now(), expires_at = ${next.expiresAt}::timestamptz,
               updated_at = now()
         where id = ${next.familyId}::uuid and ended_at is null
        returning id),
      spent as (
        update refresh_tokens
           set used_at = now(), successor_ciphertext = ${successor}::bytea, updated_at = now()
         where id = ${spentId}::uuid and exists (select 1 from session)),
      issued as (
        insert into refresh_tokens (id, family_id, user_id, token_hash, expires_at)
        select ${next.id}::uuid, session.id, ${next.userId}::uuid, ${next.tokenHash}::text,
               ${next.expiresAt}::timestamptz
          from session)
      select count(*)::int as continued from session`.execute(tx);
    return (result.rows[0]?.continued ?? 0) > 0;
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

  async endSession(sessionId: string, reason: SessionEndReason, tx: Tx, userId?: string) {
    let tokens = tx
      .updateTable('refresh_tokens')
      .set(revoked)
      .where('family_id', '=', sessionId)
      .where('revoked_at', 'is', null);
    if (userId !== undefined) tokens = tokens.where('user_id', '=', userId);
    await tokens.execute();
    let session = tx
      .updateTable('sessions')
      .set(ended(reason))
      .where('id', '=', sessionId)
      .where('ended_at', 'is', null);
    if (userId !== undefined) {
      // The user's sessions are those they can list: an expired one is gone for them.
      session = session.where('user_id', '=', userId).where('expires_at', '>', sql<Date>`now()`);
    }
    const row = await session.returning(['id', 'user_id']).executeTakeFirst();
    return row && { id: row.id, userId: row.user_id };
  }

  async endAllForUser(userId: string, reason: SessionEndReason, tx: Tx, except?: string) {
    let tokens = tx
      .updateTable('refresh_tokens')
      .set(revoked)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (except !== undefined) tokens = tokens.where('family_id', '!=', except);
    await tokens.execute();
    let sessions = tx
      .updateTable('sessions')
      .set(ended(reason))
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`);
    if (except !== undefined) sessions = sessions.where('id', '!=', except);
    const rows = await sessions.returning(['id', 'user_id']).execute();
    return rows.map((row) => ({ id: row.id, userId: row.user_id }));
  }

  async recentlyEnded(withinMs: number) {
    // Both times are the database's, so the age holds whatever the hosts' clocks say.
    const rows = await this.db
      .selectFrom('sessions')
      .select(['id', sql<number>`extract(epoch from now() - ended_at) * 1000`.as('ended_ago_ms')])
      .where('ended_at', '>', sql<Date>`now() - make_interval(secs => ${withinMs / 1000})`)
      .execute();
    return rows.map((row) => ({ id: row.id, endedAgoMs: Number(row.ended_ago_ms) }));
  }

  async hasEnded(sessionId: string) {
    const row = await this.db
      .selectFrom('sessions')
      .select('ended_at')
      .where('id', '=', sessionId)
      .executeTakeFirst();
    return row?.ended_at != null;
  }

  async listLive(userId: string, offset: number, limit: number): Promise<Page<StoredSession>> {
    const live = this.db
      .selectFrom('sessions')
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`);
    const [rows, count] = await Promise.all([
      live
        .select(['id', 'user_id', 'created_at', 'last_used_at', 'expires_at', 'ip', 'user_agent'])
        .orderBy('last_used_at', 'desc')
        .orderBy('id', 'desc')
        .offset(offset)
        .limit(limit)
        .execute(),
      live.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return {
      items: rows.map((row) => ({
        id: row.id,
        userId: row.user_id,
        createdAt: row.created_at,
        lastUsedAt: row.last_used_at,
        expiresAt: row.expires_at,
        ip: row.ip,
        userAgent: row.user_agent,
      })),
      totalCount: Number(count.n),
    };
  }

  pruneEnded(retentionMs: number, limit: number) {
    const where = sql<boolean>`ended_at is not null and ${olderThan(sql.ref('ended_at'), retentionMs)}`;
    return deleteBatch(this.db, 'sessions', 'id', where, limit);
  }

  pruneExpired(retentionMs: number, limit: number) {
    const where = sql<boolean>`ended_at is null and ${olderThan(sql.ref('expires_at'), retentionMs)}`;
    return deleteBatch(this.db, 'sessions', 'id', where, limit);
  }

  pruneSpentTokens(limit: number) {
    const where = sql<boolean>`used_at is not null and expires_at < now()`;
    return deleteBatch(this.db, 'refresh_tokens', 'id', where, limit);
  }
}
