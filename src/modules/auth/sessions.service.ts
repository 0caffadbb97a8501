import { v7 as uuidv7 } from 'uuid';
import type { RevocationList } from '../../platform/auth/revocations.js';
import type { SecurityLog } from '../../platform/audit/security-log.js';
import {
  hashRefreshToken,
  newRefreshToken,
  openSuccessor,
  sealSuccessor,
} from '../../platform/auth/tokens.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import { UnauthorizedError } from '../../platform/errors.js';
import type { SessionsRepository, StoredRefreshToken } from './sessions.repository.js';

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

type RotateOutcome =
  | { kind: 'rotated'; session: Session }
  | { kind: 'unknown' | 'revoked' | 'expired' }
  | { kind: 'reused'; familyId: string };

/**
 * Login sessions: a family of rotating refresh tokens per login. Revoking a family also puts
 * its id on the deny list, which cuts off the access tokens issued within it.
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

  /** A new login session; `client` is where it signed in from (address, user agent). */
  async start(userId: string, _client: SessionClient = {}): Promise<Session> {
    return this.issue(userId, uuidv7());
  }

  /**
   * Spends a refresh token once and hands out its successor in the same family; `client` (where
   * the request came from) goes into the security log when a reuse ends the family.
   */
  async rotate(
    refreshToken: string,
    client: SessionClient & { requestId?: string } = {},
  ): Promise<Session> {
    const outcome = await withTransaction(this.db, async (tx): Promise<RotateOutcome> => {
      const stored = await this.sessions.findByHashForUpdate(hashRefreshToken(refreshToken), tx);
      if (!stored) return { kind: 'unknown' };
      if (stored.revokedAt) return { kind: 'revoked' };
      if (stored.usedAt) {
        const successor = this.successorWithinGrace(stored, stored.usedAt, refreshToken);
        if (successor !== undefined) {
          const session = { userId: stored.userId, familyId: stored.familyId };
          return { kind: 'rotated', session: { ...session, refreshToken: successor } };
        }
        // A spent token came back: someone holds a copy. End the whole family (which drops
        // its sealed successors too).
        await this.sessions.revokeFamily(stored.familyId, tx);
        await this.securityLog.record(
          {
            type: 'refresh-token-reused',
            userId: stored.userId,
            actorId: null,
            outcome: 'failure',
            ip: client.ip,
            userAgent: client.userAgent,
            requestId: client.requestId,
            details: { sessionId: stored.familyId },
          },
          tx,
        );
        return { kind: 'reused', familyId: stored.familyId };
      }
      if (stored.expiresAt.getTime() <= Date.now()) return { kind: 'expired' };
      const session = await this.issue(stored.userId, stored.familyId, tx);
      const sealed =
        this.reuseGraceMs > 0
          ? sealSuccessor(refreshToken, session.refreshToken, stored.familyId)
          : null;
      await this.sessions.markUsed(stored.id, sealed, tx);
      return { kind: 'rotated', session };
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

  async revokeFamily(familyId: string): Promise<void> {
    await this.sessions.revokeFamily(familyId);
    await this.denyFamilies([familyId]);
  }

  /** Revokes every session of a user inside the caller's transaction; call the result after commit. */
  async revokeAllForUser(userId: string, tx: Tx): Promise<() => Promise<void>> {
    const families = await this.sessions.revokeAllForUser(userId, tx);
    return () => this.denyFamilies(families);
  }

  async denyAccessToken(jti: string): Promise<void> {
    await this.revocations.revoke('jti', jti, this.accessTtlMs);
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

  private async issue(userId: string, familyId: string, tx?: Tx): Promise<Session> {
    const refreshToken = newRefreshToken();
    await this.sessions.insert(
      {
        id: uuidv7(),
        familyId,
        userId,
        tokenHash: hashRefreshToken(refreshToken),
        expiresAt: new Date(Date.now() + this.refreshTtlMs),
      },
      tx,
    );
    return { userId, familyId, refreshToken };
  }
}
