import { v7 as uuidv7 } from 'uuid';
import type { RevocationList } from '../../platform/auth/revocations.js';
import { hashRefreshToken, newRefreshToken } from '../../platform/auth/tokens.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import { UnauthorizedError } from '../../platform/http/errors.js';
import type { SessionsRepository } from './sessions.repository.js';

export interface Session {
  userId: string;
  familyId: string;
  refreshToken: string;
}

type RotateOutcome =
  | { kind: 'rotated'; session: Session }
  | { kind: 'unknown' | 'revoked' | 'expired' }
  | { kind: 'reused'; familyId: string };

/**
 * Login sessions: a family of rotating refresh tokens per login. Revoking a family also puts
 * its id on the deny list, which cuts off the access tokens issued within it.
 */
export class SessionsService {
  constructor(
    private readonly db: Database,
    private readonly sessions: SessionsRepository,
    private readonly revocations: RevocationList,
    private readonly refreshTtlMs: number,
    private readonly accessTtlMs: number,
  ) {}

  async start(userId: string): Promise<Session> {
    return this.issue(userId, uuidv7());
  }

  /** Spends a refresh token once and hands out its successor in the same family. */
  async rotate(refreshToken: string): Promise<Session> {
    const outcome = await withTransaction(this.db, async (tx): Promise<RotateOutcome> => {
      const stored = await this.sessions.findByHashForUpdate(hashRefreshToken(refreshToken), tx);
      if (!stored) return { kind: 'unknown' };
      if (stored.revokedAt) return { kind: 'revoked' };
      if (stored.usedAt) {
        // A spent token came back: someone holds a copy. End the whole family.
        await this.sessions.revokeFamily(stored.familyId, tx);
        return { kind: 'reused', familyId: stored.familyId };
      }
      if (stored.expiresAt.getTime() <= Date.now()) return { kind: 'expired' };
      await this.sessions.markUsed(stored.id, tx);
      return { kind: 'rotated', session: await this.issue(stored.userId, stored.familyId, tx) };
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
