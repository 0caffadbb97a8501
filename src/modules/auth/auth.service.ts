import type { Actor } from '../../platform/auth/actor.js';
import { can, requireUser, type Permission } from '../../platform/auth/permissions.js';
import type { AccessTokens } from '../../platform/auth/tokens.js';
import type { JobScheduler } from '../../platform/jobs/job.js';
import { ForbiddenError, UnauthorizedError } from '../../platform/errors.js';
import type { User } from '../users/users.repository.js';
import type { RegisterInput } from '../users/users.schemas.js';
import type { UsersJobPayloads } from '../users/users.jobs.js';
import type { UsersService } from '../users/users.service.js';
import type { AccountEmailsService } from '../users/account-emails.service.js';
import type { Session, SessionsService } from './sessions.service.js';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: { id: string; email: string; role: User['role'] };
}

/** An access token alone, for a page that keeps it in a cookie and has no use for refresh. */
export interface AccessGrant {
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

function suspended() {
  return new ForbiddenError('This account is suspended', 'ACCOUNT_SUSPENDED');
}

/** Register, log in, refresh, log out. Sessions and tokens; user rules stay in UsersService. */
export class AuthService {
  constructor(
    private readonly jobs: JobScheduler<UsersJobPayloads>,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly tokens: AccessTokens,
    private readonly accessTtlMs: number,
    /** Registration's part of email verification (the welcome email carries the link). */
    private readonly verification?: Pick<AccountEmailsService, 'registered'>,
  ) {}

  /**
   * The user and their welcome email (with its verification link) commit together: no email
   * for a rolled-back account.
   */
  async register(actor: Actor, input: RegisterInput): Promise<User> {
    const { user, committed: wakeRelay } = await this.users.registerUser(
      input,
      async (tx, created) => {
        const wake = await this.jobs.schedule(
          tx,
          'email.welcome',
          { userId: created.id, email: created.email, name: created.name },
          { requestId: actor.requestId },
        );
        await this.verification?.registered(tx, created, actor);
        return wake;
      },
    );
    wakeRelay();
    return user;
  }

  async login(actor: Actor, input: { email: string; password: string }): Promise<TokenPair> {
    const user = await this.users.verifyCredentials(input.email, input.password, actor.ip);
    if (!user) throw new UnauthorizedError('Email or password is wrong', 'INVALID_CREDENTIALS');
    if (user.status === 'suspended') throw suspended();
    return this.pair(user, await this.sessions.start(user.id, actor));
  }

  /**
   * Signs in to a console only `permission` holders may use (the admin pages): the same
   * throttled password check as login, and a session started the same way, so logout and the
   * revocation of a user's sessions end it too. Wrong password, suspended account or missing
   * permission all get one answer: the form says nothing about which accounts exist or what
   * they may do. No refresh token leaves: the console signs in again when its token expires.
   */
  async loginFor(
    actor: Actor,
    input: { email: string; password: string },
    permission: Permission,
  ): Promise<AccessGrant> {
    const user = await this.users.verifyCredentials(input.email, input.password, actor.ip);
    if (
      !user ||
      user.status === 'suspended' ||
      !can({ userId: user.id, role: user.role }, permission)
    ) {
      throw new UnauthorizedError(
        'Email or password is wrong, or the account may not sign in here',
        'INVALID_CREDENTIALS',
      );
    }
    const { accessToken, expiresIn } = await this.pair(
      user,
      await this.sessions.start(user.id, actor),
    );
    return { accessToken, expiresIn };
  }

  async refresh(_actor: Actor, refreshToken: string): Promise<TokenPair> {
    const session = await this.sessions.rotate(refreshToken);
    const user = await this.users.findForSession(session.userId);
    if (!user || user.status === 'suspended') {
      await this.sessions.revokeFamily(session.familyId);
      throw user ? suspended() : new UnauthorizedError('Refresh token is invalid', 'INVALID_TOKEN');
    }
    return this.pair(user, session);
  }

  /** Ends the caller's session: its refresh tokens and every access token issued in it. */
  async logout(actor: Actor): Promise<void> {
    requireUser(actor);
    if (actor.sessionId) await this.sessions.revokeFamily(actor.sessionId);
    if (actor.tokenId) await this.sessions.denyAccessToken(actor.tokenId);
  }

  private async pair(user: User, session: Session): Promise<TokenPair> {
    // The email stays out of the token (readable by anyone holding it); the body may carry it.
    const { token } = await this.tokens.sign(
      { id: user.id, role: user.role, emailVerified: user.emailVerified },
      session.familyId,
    );
    return {
      accessToken: token,
      refreshToken: session.refreshToken,
      tokenType: 'Bearer',
      expiresIn: Math.floor(this.accessTtlMs / 1000),
      user: { id: user.id, email: user.email, role: user.role },
    };
  }
}
