import { v7 as uuidv7 } from 'uuid';
import type { SecurityLog } from '../../platform/audit/security-log.js';
import type { Actor } from '../../platform/auth/actor.js';
import { can, requireUser } from '../../platform/auth/permissions.js';
import type { RevocationList } from '../../platform/auth/revocations.js';
import {
  hashRefreshToken,
  newRefreshToken,
  openSuccessor,
  sealSuccessor,
} from '../../platform/auth/tokens.js';
import type { Database } from '../../platform/db/database.js';
import type { SessionEndReason } from '../../platform/db/schema.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import { NotFoundError, UnauthorizedError } from '../../platform/errors.js';
import { offsetOf, type Page, type PageRequest } from '../../platform/paging.js';
import type {
  EndedSession,
  SessionsRepository,
  StoredRefreshToken,
  StoredSession,
} from './sessions.repository.js';

export interface Session {
  userId: string;
  familyId: string;
  refreshToken: string;
}

/** Where a session signed in from, as the platform saw it. */
export interface SessionClient {
  ip?: string;
  userAgent?: string;
}

/** A live session as its user (or an admin) lists it. */
export interface SessionView {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  /** The session the request itself came with. */
  current: boolean;
}

/** Who ended sessions and why: the reason stored with them, and who to record as the actor. */
export interface SessionEnd {
  reason: SessionEndReason;
  actor?: Actor;
}

/** Ending several sessions may lock the same tokens in another order than a second one. */
const END_RETRIES = 3;

type RotateOutcome =
  | { kind: 'rotated'; session: Session }
  | { kind: 'unknown' | 'revoked' | 'expired' }
  | { kind: 'reused'; familyId: string };

/**
 * Login sessions: one row per login, and a family of rotating refresh tokens under it (the
 * family id is the session id and the access token's `sid`). Ending a session revokes its
 * tokens, marks it ended with the reason, and puts its id on the deny list, which cuts off the
 * access tokens issued within it, in every process.
 *
 * A user lists and ends their own sessions; `read:users` lists anyone's and `write:users` ends
 * anyone's; anyone else's answer 404, like their user record.
 *
 * A spent token that comes back means a copy exists, and ends the family, except within a
 * short grace window after it was spent: a client refreshing twice at once (two tabs, a retry
 * after a lost response) gets the successor the first refresh produced, so it keeps a single
 * live refresh token. The successor is kept for that window only, sealed under a key derived
 * from the spent token, so the database alone can't hand it to anyone.
 */
export class SessionsService {
  constructor(
    private readonly db: Database,
    private readonly sessions: SessionsRepository,
    private readonly revocations: RevocationList,
    private readonly refreshTtlMs: number,
    /** How long a deny-list entry must last: an access token's longest accepted life. */
    private readonly accessTtlMs: number,
    /** JWT_REFRESH_REUSE_GRACE; 0 = every reuse revokes the family. */
    private readonly reuseGraceMs: number,
    private readonly securityLog: SecurityLog,
  ) {}

  /**
   * A new login session; `client` is where it signed in from (address, user agent). `ttlMs`
   * shortens its refresh token's life, for a session that is never refreshed (the admin pages).
   */
  async start(
    userId: string,
    client: SessionClient = {},
    options: { ttlMs?: number } = {},
  ): Promise<Session> {
    const familyId = uuidv7();
    const refreshToken = newRefreshToken();
    await this.sessions.start(
      { userId, ip: client.ip ?? null, userAgent: client.userAgent ?? null },
      this.tokenRow(userId, familyId, refreshToken, options.ttlMs),
    );
    return { userId, familyId, refreshToken };
  }

  /**
   * Spends a refresh token once and hands out its successor in the same family. `actor` is who
   * presented it, recorded when a reuse ends the session.
   */
  async rotate(refreshToken: string, actor?: Actor): Promise<Session> {
    const outcome = await withTransaction(this.db, async (tx): Promise<RotateOutcome> => {
      const stored = await this.sessions.findByHashForUpdate(hashRefreshToken(refreshToken), tx);
      if (!stored) return { kind: 'unknown' };
      if (stored.revokedAt || stored.sessionEndedAt) return { kind: 'revoked' };
      if (stored.usedAt) {
        const successor = this.successorWithinGrace(stored, stored.usedAt, refreshToken);
        if (successor !== undefined) {
          const session = { userId: stored.userId, familyId: stored.familyId };
          return { kind: 'rotated', session: { ...session, refreshToken: successor } };
        }
        // A spent token came back: someone holds a copy. End the whole family (which drops
        // its sealed successors too).
        await this.endWithin(
          tx,
          () =>
            this.sessions
              .endSession(stored.familyId, 'reuse-detected', tx)
              .then((s) => (s ? [s] : [])),
          { reason: 'reuse-detected', actor },
        );
        await this.securityLog.record(
          {
            type: 'refresh-token-reused',
            userId: stored.userId,
            actorId: null,
            outcome: 'failure',
            ip: actor?.ip,
            userAgent: actor?.userAgent,
            requestId: actor?.requestId,
            details: { sessionId: stored.familyId },
          },
          tx,
        );
        return { kind: 'reused', familyId: stored.familyId };
      }
      if (stored.expiresAt.getTime() <= Date.now()) return { kind: 'expired' };
      const { userId, familyId } = stored;
      const next = newRefreshToken();
      const sealed =
        this.reuseGraceMs > 0 ? sealSuccessor(refreshToken, next, stored.familyId) : null;
      const continued = await this.sessions.rotate(
        stored.id,
        sealed,
        this.tokenRow(userId, familyId, next),
        tx,
      );
      // The session ended between the read and the write: the end wins.
      if (!continued) return { kind: 'revoked' };
      return { kind: 'rotated', session: { userId, familyId, refreshToken: next } };
    });
    switch (outcome.kind) {
      case 'rotated':
        return outcome.session;
      case 'reused':
        await this.denyFamilies([outcome.familyId]);
        throw new UnauthorizedError(
          'Refresh token was already used; the session is revoked',
          'REFRESH_TOKEN_REUSED',
        );
      case 'expired':
        throw new UnauthorizedError('Refresh token has expired', 'TOKEN_EXPIRED');
      case 'unknown':
      case 'revoked':
        throw new UnauthorizedError('Refresh token is invalid', 'INVALID_TOKEN');
    }
  }

  /** Ends one session, whoever it belongs to (logout, a suspended account's refresh). */
  async revokeFamily(familyId: string, end: SessionEnd = { reason: 'revoked' }): Promise<void> {
    await withTransaction(
      this.db,
      (tx) =>
        this.endWithin(
          tx,
          async () => {
            const ended = await this.sessions.endSession(familyId, end.reason, tx);
            return ended ? [ended] : [];
          },
          end,
        ),
      { retries: END_RETRIES },
    );
    // Denied whether or not this call ended it: of a logout and another end racing, each must
    // leave the session's access tokens refused.
    await this.denyFamilies([familyId]);
  }

  /**
   * Ends every session of a user inside the caller's transaction (a password, role or status
   * change); call the result after commit.
   */
  async revokeAllForUser(
    userId: string,
    tx: Tx,
    end: SessionEnd = { reason: 'revoked' },
  ): Promise<() => Promise<void>> {
    const ended = await this.endWithin(
      tx,
      () => this.sessions.endAllForUser(userId, end.reason, tx),
      end,
    );
    return () => this.denyFamilies(ended.map((s) => s.id));
  }

  /** A user's live sessions, most recently used first: their own, or anyone's with read:users. */
  async listSessions(actor: Actor, userId: string, page: PageRequest): Promise<Page<SessionView>> {
    this.assertMay(actor, userId, 'read');
    const { offset, limit } = offsetOf(page);
    const found = await this.sessions.listLive(userId, offset, limit);
    return { ...found, items: found.items.map((s) => this.view(actor, s)) };
  }

  /** Ends one of a user's live sessions at once: its refresh tokens and its access tokens. */
  async endSession(actor: Actor, userId: string, sessionId: string): Promise<void> {
    this.assertMay(actor, userId, 'write');
    const end: SessionEnd = { reason: actor.userId === userId ? 'ended' : 'ended-by-admin', actor };
    const ended = await withTransaction(
      this.db,
      (tx) =>
        this.endWithin(
          tx,
          async () => {
            const one = await this.sessions.endSession(sessionId, end.reason, tx, userId);
            return one ? [one] : [];
          },
          end,
        ),
      { retries: END_RETRIES },
    );
    if (ended.length === 0) throw new NotFoundError('Session', 'SESSION_NOT_FOUND');
    await this.denyFamilies([sessionId]);
  }

  /** Ends the caller's sessions; with `keepCurrent`, all but the one the request came with. */
  async logoutAll(actor: Actor, options: { keepCurrent?: boolean } = {}): Promise<number> {
    requireUser(actor);
    return this.endAllSessions(actor, actor.userId, options);
  }

  /**
   * Ends every live session of a user; with `keepCurrent`, all but the one the request came
   * with. Returns how many it ended.
   */
  async endAllSessions(
    actor: Actor,
    userId: string,
    options: { keepCurrent?: boolean } = {},
  ): Promise<number> {
    this.assertMay(actor, userId, 'write');
    const self = actor.userId === userId;
    const end: SessionEnd = { reason: self ? 'logout-all' : 'ended-by-admin', actor };
    const except = self && options.keepCurrent ? actor.sessionId : undefined;
    const ended = await withTransaction(
      this.db,
      (tx) =>
        this.endWithin(tx, () => this.sessions.endAllForUser(userId, end.reason, tx, except), end),
      { retries: END_RETRIES },
    );
    await this.denyFamilies(ended.map((s) => s.id));
    return ended.length;
  }

  async denyAccessToken(jti: string): Promise<void> {
    await this.revocations.revoke('jti', jti, this.accessTtlMs);
  }

  /** Runs `endSessions` in `tx` and records a session-ended event for each session it ended. */
  private async endWithin(
    tx: Tx,
    endSessions: () => Promise<EndedSession[]>,
    end: SessionEnd,
  ): Promise<EndedSession[]> {
    const ended = await endSessions();
    for (const session of ended) {
      await this.securityLog.record(
        {
          type: 'session-ended',
          userId: session.userId,
          actorId: end.actor?.userId ?? null,
          outcome: 'success',
          ip: end.actor?.ip,
          userAgent: end.actor?.userAgent,
          requestId: end.actor?.requestId,
          details: { sessionId: session.id, how: end.reason },
        },
        tx,
      );
    }
    return ended;
  }

  /** Self, or the permission; anyone else is told the user doesn't exist. */
  private assertMay(actor: Actor, userId: string, access: 'read' | 'write') {
    requireUser(actor);
    if (actor.userId === userId) return;
    if (!can(actor, `${access}:users`)) throw new NotFoundError('User');
  }

  private view(actor: Actor, session: StoredSession): SessionView {
    return {
      id: session.id,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt,
      expiresAt: session.expiresAt,
      userAgent: session.userAgent,
      ip: session.ip,
      current: session.id === actor.sessionId,
    };
  }

  private async denyFamilies(familyIds: string[]) {
    await Promise.all(familyIds.map((id) => this.revocations.revoke('sid', id, this.accessTtlMs)));
  }

  /**
   * The successor sealed when the token was spent, if it was spent no longer than the grace
   * window ago. Both times are the database's: the window holds whatever the hosts' clocks say.
   */
  private successorWithinGrace(
    stored: StoredRefreshToken,
    usedAt: Date,
    refreshToken: string,
  ): string | undefined {
    // Off here means off, even for a successor sealed by a process whose window is open.
    if (this.reuseGraceMs === 0 || !stored.successorCiphertext) return undefined;
    if (stored.readAt.getTime() - usedAt.getTime() > this.reuseGraceMs) return undefined;
    return openSuccessor(refreshToken, stored.successorCiphertext, stored.familyId);
  }

  private tokenRow(
    userId: string,
    familyId: string,
    refreshToken: string,
    ttlMs = this.refreshTtlMs,
  ) {
    return {
      id: uuidv7(),
      familyId,
      userId,
      tokenHash: hashRefreshToken(refreshToken),
      expiresAt: new Date(Date.now() + ttlMs),
    };
  }
}
