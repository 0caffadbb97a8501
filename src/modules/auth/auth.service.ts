import { createHash } from 'node:crypto';
import type { Actor } from '../../platform/auth/actor.js';
import { can, requireUser, type Permission } from '../../platform/auth/permissions.js';
import type { EnrolmentTokens } from '../../platform/auth/enrolment-tokens.js';
import type { AccessTokens } from '../../platform/auth/tokens.js';
import type { SecurityEventInput, SecurityLog } from '../../platform/audit/security-log.js';
import type { JobScheduler } from '../../platform/jobs/job.js';
import { AppError, ForbiddenError, UnauthorizedError } from '../../platform/errors.js';
import type { User } from '../users/users.repository.js';
import type { AccountEmailsService } from '../users/account-emails.service.js';
import type { RegisterInput } from '../users/users.schemas.js';
import type { UsersJobPayloads } from '../users/users.jobs.js';
import type { UsersService } from '../users/users.service.js';
import type { Session, SessionsService } from './sessions.service.js';
import type { SecondFactor, TwoFactorService } from './two-factor.service.js';

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

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Where a request came from, as the security log records it. */
const clientOf = (actor: Actor) => ({
  ip: actor.ip,
  userAgent: actor.userAgent,
  requestId: actor.requestId,
});

/** Login's answer for an account with two-factor: the code step comes next. */
export interface TwoFactorRequired {
  twoFactorRequired: true;
  /** For POST /auth/login/two-factor, with a code; not a Bearer token. */
  stepToken: string;
  /** Seconds until the step token expires. */
  expiresIn: number;
}

/** Login's answer for an admin who must enrol in two-factor first (ADMIN_TWO_FACTOR). */
export interface TwoFactorEnrolmentRequired {
  twoFactorEnrolmentRequired: true;
  /** A Bearer token the two-factor enrolment routes alone accept. */
  enrolmentToken: string;
  /** Seconds until the enrolment token expires. */
  expiresIn: number;
}

export type LoginResult = TokenPair | TwoFactorRequired | TwoFactorEnrolmentRequired;

/** The admin pages' sign-in: a cookie's token, or the code step first. */
export type AccessGrantOrStep = AccessGrant | TwoFactorRequired;

function enrolmentRequired() {
  return new ForbiddenError(
    'Administrators must enrol in two-factor first: sign in through the API and enrol',
    'TWO_FACTOR_ENROLMENT_REQUIRED',
  );
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
    private readonly securityLog: SecurityLog,
    private readonly twoFactor: TwoFactorService,
    private readonly enrolmentTokens: EnrolmentTokens,
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
        await this.securityLog.record(
          {
            type: 'account-created',
            userId: created.id,
            actorId: created.id,
            outcome: 'success',
            ...clientOf(actor),
            details: { via: 'registration' },
          },
          tx,
        );
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

  /**
   * A right password starts a session, unless the account has two-factor (then a step token
   * for the code step, no session yet) or is an admin who must enrol first (then a token only
   * the enrolment routes take).
   */
  async login(actor: Actor, input: { email: string; password: string }): Promise<LoginResult> {
    const user = await this.checkPassword(actor, input);
    if (!user) throw new UnauthorizedError('Email or password is wrong', 'INVALID_CREDENTIALS');
    if (user.status === 'suspended') {
      await this.recordSignIn(actor, user.id, 'failure', { reason: 'suspended' });
      throw suspended();
    }
    const gate = await this.twoFactor.gateFor(user);
    switch (gate) {
      case 'code':
        return { twoFactorRequired: true, ...(await this.twoFactor.challenge(user.id)) };
      case 'enrol':
        return {
          twoFactorEnrolmentRequired: true,
          enrolmentToken: this.enrolmentTokens.sign(user.id),
          expiresIn: Math.floor(this.enrolmentTokens.ttlMs / 1000),
        };
      case 'none': {
        const session = await this.sessions.start(user.id, actor);
        await this.recordSignIn(actor, user.id, 'success', { sessionId: session.familyId });
        return this.pair(user, session);
      }
    }
  }

  /** The code step: a step token from login and a code (or a recovery code) → a session. */
  async loginWithSecondFactor(
    actor: Actor,
    stepToken: string,
    factor: SecondFactor,
  ): Promise<TokenPair> {
    const user = await this.passSecondFactor(actor, stepToken, factor);
    return this.pair(user, await this.sessions.start(user.id, actor));
  }

  /**
   * A session for a user another door has authenticated (an OpenID provider): login's answer,
   * and login's refusal of a suspended account.
   */
  async startSession(actor: Actor, user: User): Promise<TokenPair> {
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
  ): Promise<AccessGrantOrStep> {
    const user = await this.checkPassword(actor, input);
    if (
      !user ||
      user.status === 'suspended' ||
      !can({ userId: user.id, role: user.role }, permission)
    ) {
      if (user) {
        const reason = user.status === 'suspended' ? 'suspended' : 'not-permitted';
        await this.recordSignIn(actor, user.id, 'failure', { reason, console: permission });
      }
      throw new UnauthorizedError(
        'Email or password is wrong, or the account may not sign in here',
        'INVALID_CREDENTIALS',
      );
    }
    const gate = await this.twoFactor.gateFor(user);
    if (gate === 'enrol') throw enrolmentRequired();
    if (gate === 'code') {
      return { twoFactorRequired: true, ...(await this.twoFactor.challenge(user.id)) };
    }
    const grant = await this.grant(user, actor);
    await this.recordSignIn(actor, user.id, 'success', {
      sessionId: grant.sessionId,
      console: permission,
    });
    return { accessToken: grant.accessToken, expiresIn: grant.expiresIn };
  }

  /** The admin pages' code step; the permission is checked again, as it may have changed. */
  async loginForWithSecondFactor(
    actor: Actor,
    stepToken: string,
    factor: SecondFactor,
    permission: Permission,
  ): Promise<AccessGrant> {
    const user = await this.passSecondFactor(actor, stepToken, factor);
    if (!can({ userId: user.id, role: user.role }, permission)) {
      throw new UnauthorizedError('The account may not sign in here', 'INVALID_CREDENTIALS');
    }
    const { accessToken, expiresIn } = await this.grant(user, actor);
    return { accessToken, expiresIn };
  }

  async refresh(actor: Actor, refreshToken: string): Promise<TokenPair> {
    const session = await this.sessions.rotate(refreshToken, actor);
    const user = await this.users.findForSession(session.userId);
    if (!user || user.status === 'suspended') {
      await this.sessions.revokeFamily(session.familyId, { reason: 'account-suspended', actor });
      throw user ? suspended() : new UnauthorizedError('Refresh token is invalid', 'INVALID_TOKEN');
    }
    // A session an admin opened before ADMIN_TWO_FACTOR=required ends here, not in a week.
    if (await this.twoFactor.mustEnrol(user)) {
      await this.sessions.revokeFamily(session.familyId, { reason: 'revoked', actor });
      throw enrolmentRequired();
    }
    return this.pair(user, session);
  }

  /** Ends the caller's session: its refresh tokens and every access token issued in it. */
  async logout(actor: Actor): Promise<void> {
    requireUser(actor);
    if (actor.sessionId)
      await this.sessions.revokeFamily(actor.sessionId, { reason: 'logout', actor });
    if (actor.tokenId) await this.sessions.denyAccessToken(actor.tokenId);
  }

  /**
   * The throttled password check of a sign-in, with its record when it fails: a wrong password
   * goes to the account's chain, an unknown email to the chain of unmatched events (with the
   * address's SHA-256, never the address: see docs/accounts/security-log.md), a 429 to the
   * account's chain, so its owner sees someone guessing at it.
   */
  private async checkPassword(actor: Actor, input: { email: string; password: string }) {
    let user: User | undefined;
    try {
      user = await this.users.verifyCredentials(input.email, input.password, actor.ip);
    } catch (err) {
      if (err instanceof AppError && err.code === 'RATE_LIMITED') {
        await this.recordFailedSignIn(actor, input.email, 'sign-in-throttled', {});
      }
      throw err;
    }
    if (!user) await this.recordFailedSignIn(actor, input.email, 'sign-in-failed', {});
    return user;
  }

  private async recordFailedSignIn(
    actor: Actor,
    email: string,
    type: 'sign-in-failed' | 'sign-in-throttled',
    details: SecurityEventInput['details'],
  ) {
    const userId = (await this.users.accountIdFor(email)) ?? null;
    const reason = userId ? 'wrong-password' : 'unknown-email';
    await this.securityLog.record({
      type,
      userId,
      // An unknown address gets a chain of its own, as an account has.
      ...(userId ? {} : { subject: email }),
      actorId: null,
      outcome: 'failure',
      ...clientOf(actor),
      details: {
        method: 'password',
        ...(type === 'sign-in-failed' ? { reason } : {}),
        ...(userId ? {} : { emailSha256: sha256(email) }),
        ...details,
      },
    });
  }

  private async recordSignIn(
    actor: Actor,
    userId: string,
    outcome: 'success' | 'failure',
    details: SecurityEventInput['details'],
  ) {
    await this.securityLog.record({
      type: outcome === 'success' ? 'sign-in' : 'sign-in-failed',
      userId,
      actorId: outcome === 'success' ? userId : null,
      outcome,
      ...clientOf(actor),
      details: { method: 'password', ...details },
    });
  }

  private async passSecondFactor(
    actor: Actor,
    stepToken: string,
    factor: SecondFactor,
  ): Promise<User> {
    const userId = await this.twoFactor.completeSignIn(actor, stepToken, factor);
    const user = await this.users.findForSession(userId);
    if (!user) throw new UnauthorizedError('The step token is invalid', 'INVALID_TOKEN');
    if (user.status === 'suspended') throw suspended();
    return user;
  }

  /** The admin pages' grant: never refreshed, so the session lasts as long as its access token. */
  private async grant(user: User, actor: Actor): Promise<AccessGrant & { sessionId: string }> {
    const session = await this.sessions.start(user.id, actor, { ttlMs: this.accessTtlMs });
    const { accessToken, expiresIn } = await this.pair(user, session);
    return { accessToken, expiresIn, sessionId: session.familyId };
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
