import type { Actor } from '../../platform/auth/actor.js';
import type { LoginThrottle } from '../../platform/auth/login-throttle.js';
import { checkPasswordPolicy, WeakPasswordError } from '../../platform/auth/password-policy.js';
import type { PasswordHasher } from '../../platform/auth/passwords.js';
import { requireUser } from '../../platform/auth/permissions.js';
import type { SecurityEventInput, SecurityLog } from '../../platform/audit/security-log.js';
import type { CacheAside } from '../../platform/cache/cache-aside.js';
import type { Database } from '../../platform/db/database.js';
import { UniqueViolationError } from '../../platform/db/errors.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import { AppError, ConflictError, NotFoundError } from '../../platform/errors.js';
import type { JobScheduler } from '../../platform/jobs/job.js';
import type { SessionsService } from '../auth/sessions.service.js';
import type { AccountEmailJobPayloads } from './account-emails.jobs.js';
import {
  hashAccountToken,
  type AccountTokenPurpose,
  type AccountTokensRepository,
} from './account-tokens.repository.js';
import type { User, UsersRepository } from './users.repository.js';
import type { EmailChanges } from './users.service.js';

/** One answer for a token that is unknown, expired, spent, or of another purpose. */
export class InvalidAccountTokenError extends AppError {
  constructor() {
    super(400, 'INVALID_ACCOUNT_TOKEN', 'This link is invalid, expired or already used');
  }
}

/** Who asked, for the security log. */
function from(actor: Actor) {
  return { ip: actor.ip, userAgent: actor.userAgent, requestId: actor.requestId };
}

/**
 * The flows an emailed link completes: verify the address, reset a forgotten password, confirm
 * a new address. Each link's token is spent in the transaction that makes its effect (see
 * AccountTokensRepository.consume): two uses at once give one success, and an effect that
 * fails (the new address taken meanwhile) leaves the token unspent.
 *
 * Asking for an email (a reset, a new verification link) is throttled per address like a
 * sign-in (LoginThrottle, its own keys): it sends mail to someone, so it must not be a way to
 * flood a mailbox. A reset answers the same, and does the same work, whether or not an
 * account uses the address: one lookup, one outbox row, one log record.
 */
export class AccountEmailsService implements EmailChanges {
  constructor(
    private readonly db: Database,
    private readonly users: UsersRepository,
    private readonly tokens: AccountTokensRepository,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly jobs: JobScheduler<AccountEmailJobPayloads>,
    /** Users by id: every change here invalidates after its commit. */
    private readonly byId: CacheAside<User>,
    /** The budgets of emails asked for (ACCOUNT_EMAIL_*). */
    private readonly requests: LoginThrottle,
    private readonly securityLog: SecurityLog,
  ) {}

  /** Registration's part, in its transaction: the welcome email carries the link. */
  async registered(tx: Tx, user: User, actor: Actor): Promise<void> {
    await this.record(
      { type: 'email-verification-sent', userId: user.id, actorId: null, outcome: 'success' },
      actor,
      tx,
    );
  }

  async verifyEmail(actor: Actor, token: string): Promise<User> {
    const userId = await withTransaction(this.db, async (tx) => {
      const spent = await this.spend('verify-email', token, tx);
      // A link to an address the account no longer holds verifies nothing.
      if (!(await this.tokens.markVerified(spent.userId, spent.email, tx))) {
        throw new InvalidAccountTokenError();
      }
      await this.tokens.consumeAll(spent.userId, ['verify-email'], tx);
      await this.record(
        { type: 'email-verified', userId: spent.userId, actorId: actor.userId, outcome: 'success' },
        actor,
        tx,
        { email: spent.email },
      );
      return spent.userId;
    });
    return this.fresh(userId);
  }

  /** A new verification link to the caller's address (throttled; 409 once verified). */
  async resendVerification(actor: Actor): Promise<void> {
    requireUser(actor);
    const user = await this.users.findById(actor.userId);
    if (!user) throw new NotFoundError('User');
    if (user.emailVerified) {
      throw new ConflictError('This email address is already verified', 'EMAIL_ALREADY_VERIFIED');
    }
    await this.throttled(`verify:${user.email}`, actor, async () => {
      const wake = await withTransaction(this.db, async (tx) => {
        const afterCommit = await this.jobs.schedule(
          tx,
          'email.verify',
          { userId: user.id, email: user.email, name: user.name },
          { requestId: actor.requestId },
        );
        await this.record(
          {
            type: 'email-verification-sent',
            userId: user.id,
            actorId: user.id,
            outcome: 'success',
          },
          actor,
          tx,
        );
        return afterCommit;
      });
      wake();
    });
  }

  /**
   * Mails a reset link to the account using `email`, or, when none does, an email saying so.
   * Both paths: the throttle, one lookup, one outbox row of one job type, one log record; no
   * hashing here (the job issues the token). The caller's answer is the same either way.
   */
  async forgotPassword(actor: Actor, email: string): Promise<void> {
    await this.throttled(`reset:${email}`, actor, async () => {
      const wake = await withTransaction(this.db, async (tx) => {
        const user = await this.users.findByEmail(email, tx);
        const afterCommit = await this.jobs.schedule(
          tx,
          'email.password-reset',
          { email: user?.email ?? email, userId: user?.id ?? null },
          { requestId: actor.requestId },
        );
        await this.record(
          {
            type: 'password-reset-requested',
            userId: user?.id ?? null,
            // An address no account uses goes on a chain of its own, as an account's would:
            // both paths wait the same behind their chain's head.
            ...(user ? {} : { subject: email }),
            actorId: actor.userId,
            outcome: 'success',
          },
          actor,
          tx,
        );
        return afterCommit;
      });
      wake();
    });
  }

  /**
   * Sets the password a reset link allows: the same strength rules as anywhere; then every
   * session of the account ends (refresh families and their access tokens) and every other
   * outstanding reset link stops working. A reset proves the mailbox too: the address counts
   * as verified.
   */
  async resetPassword(actor: Actor, token: string, password: string): Promise<void> {
    const tokenHash = hashAccountToken(token);
    // A look before the hash work: a wrong token costs no argon2 run. The spend below decides.
    const live = await this.tokens.isLive('reset-password', tokenHash);
    if (!live) throw new InvalidAccountTokenError();
    const user = await this.users.findById(live.userId);
    if (!user) throw new InvalidAccountTokenError();
    const weakness = checkPasswordPolicy(password, { email: user.email, name: user.name });
    if (weakness) throw new WeakPasswordError(weakness);
    const passwordHash = await this.passwords.hash(password);
    const endSessions = await withTransaction(this.db, async (tx) => {
      const spent = await this.spend('reset-password', token, tx);
      if (!(await this.tokens.setPassword(spent.userId, passwordHash, tx))) {
        throw new InvalidAccountTokenError();
      }
      await this.tokens.consumeAll(spent.userId, ['reset-password'], tx);
      await this.tokens.markVerified(spent.userId, spent.email, tx);
      const deny = await this.sessions.revokeAllForUser(spent.userId, tx);
      await this.record(
        { type: 'password-reset', userId: spent.userId, actorId: null, outcome: 'success' },
        actor,
        tx,
      );
      return deny;
    });
    await this.byId.invalidate(user.id);
    await endSessions();
  }

  /**
   * A user changing their own address (UsersService.updateUser, after the current password),
   * in its transaction: a confirmation link to the new address, a notice to the old one. The
   * account keeps its address until the link is used. 409 if the address is taken now.
   */
  async requestEmailChange(tx: Tx, actor: Actor, user: User, newEmail: string) {
    const holder = await this.users.findByEmail(newEmail, tx);
    if (holder && holder.id !== user.id) {
      throw new ConflictError('A user with this email already exists', 'EMAIL_TAKEN');
    }
    const payload = { userId: user.id, oldEmail: user.email, newEmail, name: user.name };
    const meta = { requestId: actor.requestId };
    const confirm = await this.jobs.schedule(tx, 'email.change-confirm', payload, meta);
    const notice = await this.jobs.schedule(tx, 'email.change-notice', payload, meta);
    await this.record(
      {
        type: 'email-change-requested',
        userId: user.id,
        actorId: actor.userId,
        outcome: 'success',
      },
      actor,
      tx,
      { newEmail },
    );
    return () => {
      confirm();
      notice();
    };
  }

  /** An admin changed another account's address directly: the links mailed before stop working. */
  async changedByAdmin(tx: Tx, userId: string): Promise<void> {
    // The change itself is recorded with the other field changes (UsersService.updateUser).
    await this.tokens.consumeAll(userId, ['change-email', 'verify-email', 'reset-password'], tx);
  }

  /**
   * Moves the account to the address the link was mailed to, verified by this very use. Links
   * mailed to the old address (verification, reset) stop working. 409 EMAIL_TAKEN if another
   * account took the address meanwhile; the link then stays usable until it expires.
   */
  async confirmEmailChange(actor: Actor, token: string): Promise<User> {
    const userId = await withTransaction(this.db, async (tx) => {
      const spent = await this.spend('change-email', token, tx);
      let oldEmail: string | undefined;
      try {
        oldEmail = await this.tokens.setVerifiedEmail(spent.userId, spent.email, tx);
      } catch (err) {
        if (err instanceof UniqueViolationError) {
          throw new ConflictError('A user with this email already exists', 'EMAIL_TAKEN');
        }
        throw err;
      }
      if (oldEmail === undefined) throw new InvalidAccountTokenError();
      await this.tokens.consumeAll(
        spent.userId,
        ['change-email', 'verify-email', 'reset-password'],
        tx,
      );
      await this.record(
        // The account confirms through its own link, whoever sends it: it is the actor.
        { type: 'email-changed', userId: spent.userId, actorId: spent.userId, outcome: 'success' },
        actor,
        tx,
        { from: oldEmail ?? null, to: spent.email },
      );
      return spent.userId;
    });
    return this.fresh(userId);
  }

  /** Spends a token of this purpose, or refuses with the one answer for every bad token. */
  private async spend(purpose: AccountTokenPurpose, token: string, tx: Tx) {
    const spent = await this.tokens.consume(purpose, hashAccountToken(token), tx);
    if (!spent) throw new InvalidAccountTokenError();
    return spent;
  }

  /**
   * Runs `work` within the email budgets of `key` (an address): every request counts, whether
   * or not it sends anything, and past the budget the answer is 429 before any work is done.
   */
  private async throttled(key: string, actor: Actor, work: () => Promise<void>) {
    try {
      await this.requests.guard(key, actor.ip, async () => {
        await work();
        return undefined;
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'RATE_LIMITED') {
        throw new AppError(
          429,
          'RATE_LIMITED',
          'Too many emails asked for this address; try again later',
          err.details,
          err.headers,
        );
      }
      throw err;
    }
  }

  private async fresh(userId: string): Promise<User> {
    await this.byId.invalidate(userId);
    const user = await this.users.findById(userId);
    if (!user) throw new NotFoundError('User');
    return user;
  }

  private async record(
    event: Omit<SecurityEventInput, 'ip' | 'userAgent' | 'requestId' | 'details'>,
    actor: Actor,
    tx?: Tx,
    details?: SecurityEventInput['details'],
  ) {
    await this.securityLog.record(
      { ...event, ...from(actor), ...(details ? { details } : {}) },
      tx,
    );
  }
}
