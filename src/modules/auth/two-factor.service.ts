import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import type { LoginThrottle } from '../../platform/auth/login-throttle.js';
import { can, requireUser } from '../../platform/auth/permissions.js';
import type { SealedSecrets } from '../../platform/auth/sealed-secrets.js';
import type { SecurityEventInput, SecurityLog } from '../../platform/audit/security-log.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../platform/errors.js';
import type { User } from '../users/users.repository.js';
import type { UsersService } from '../users/users.service.js';
import type { StoredTwoFactor, TwoFactorRepository } from './two-factor.repository.js';
import {
  hashRecoveryCode,
  matchTotp,
  newRecoveryCode,
  newTotpSecret,
  RECOVERY_CODE_COUNT,
  TOTP_DIGITS,
  TOTP_PERIOD_SECONDS,
  totpUri,
} from './totp.js';

export interface TwoFactorSettings {
  /** The otpauth:// issuer (TWO_FACTOR_ISSUER). */
  issuer: string;
  /** Steps accepted either side of now (TWO_FACTOR_WINDOW). */
  window: number;
  /** Lifetime of a sign-in step token (TWO_FACTOR_STEP_TTL). */
  stepTtlMs: number;
  /** ADMIN_TWO_FACTOR=required. */
  adminRequired: boolean;
}

export interface TwoFactorStatus {
  enabled: boolean;
  /** An enrolment started and waiting for its first code. */
  pending: boolean;
  enabledAt: Date | null;
  /** Unspent recovery codes (0 unless enabled). */
  recoveryCodesLeft: number;
}

export interface TwoFactorEnrolment {
  /** Base32, for typing into an authenticator app. */
  secret: string;
  /** The same secret as an otpauth:// URI, for a QR code. */
  otpauthUri: string;
  issuer: string;
  digits: number;
  period: number;
  algorithm: 'SHA1';
}

export interface TwoFactorEnabled {
  enabledAt: Date;
  /** Shown once: only their hashes are kept. */
  recoveryCodes: string[];
}

/** What disabling asks of the account itself: its password, and a code or a recovery code. */
export interface TwoFactorProof {
  password?: string;
  code?: string;
  recoveryCode?: string;
}

/** What sign-in needs after a right password. */
export type SignInGate = 'none' | 'code' | 'enrol';

export interface SignInChallenge {
  stepToken: string;
  /** Seconds. */
  expiresIn: number;
}

export type SecondFactor = { code: string } | { recoveryCode: string };

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** The throttle's account key for codes: apart from the password's, so neither resets the other. */
const throttleKey = (userId: string) => `two-factor:${userId}`;

/** Aborts the recovery-code transaction (the challenge stays unspent) for a wrong code. */
class WrongRecoveryCode extends Error {}

function wrongCode(status: 401 | 403): AppError {
  return new AppError(status, 'INVALID_TWO_FACTOR_CODE', 'The two-factor code is wrong');
}

function codeUsed(status: 401 | 403): AppError {
  return new AppError(
    status,
    'TWO_FACTOR_CODE_USED',
    'This code was already used; wait for the next one',
  );
}

function invalidStepToken(): AppError {
  return new UnauthorizedError(
    'The step token is invalid or spent; sign in again',
    'INVALID_TOKEN',
  );
}

/**
 * Two-factor sign-in with TOTP (RFC 6238): enrolment (start, confirm with a first code),
 * disabling, and the second step of sign-in. A code is accepted once: the last accepted time
 * step is kept, and only a conditional UPDATE that moves it forward accepts a code, so two
 * requests with one code can't both succeed. Code checks are throttled like passwords
 * (LoginThrottle, per account and address) under a key of their own.
 */
export class TwoFactorService {
  constructor(
    private readonly db: Database,
    private readonly repo: TwoFactorRepository,
    private readonly users: UsersService,
    private readonly throttle: LoginThrottle,
    private readonly secrets: SealedSecrets,
    private readonly securityLog: SecurityLog,
    private readonly settings: TwoFactorSettings,
  ) {}

  /** The account's two-factor state: the account itself, or `read:users`. */
  async status(actor: Actor, userId: string): Promise<TwoFactorStatus> {
    await this.requireVisible(actor, userId);
    const enrolment = await this.repo.find(userId);
    const enabled = Boolean(enrolment?.enabledAt);
    return {
      enabled,
      pending: enrolment !== undefined && !enabled,
      enabledAt: enrolment?.enabledAt ?? null,
      recoveryCodesLeft: enabled ? await this.repo.countUnusedRecoveryCodes(userId) : 0,
    };
  }

  /** Which of `userIds` have two-factor enabled (GraphQL's batched field; callers authorise). */
  async enabledAmong(userIds: readonly string[]): Promise<Set<string>> {
    return this.repo.enabledAmong(userIds);
  }

  /** A new secret, pending until confirmed; starting again while pending replaces it. */
  async start(actor: Actor, userId: string): Promise<TwoFactorEnrolment> {
    const user = await this.requireSelf(actor, userId);
    const secret = newTotpSecret();
    if (!(await this.repo.savePending(userId, this.secrets.seal(secret, userId)))) {
      throw new ConflictError('Two-factor is already enabled', 'TWO_FACTOR_ALREADY_ENABLED');
    }
    return {
      secret,
      otpauthUri: totpUri(secret, this.settings.issuer, user.email),
      issuer: this.settings.issuer,
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_SECONDS,
      algorithm: 'SHA1',
    };
  }

  /** The first code proves the app holds the secret: two-factor is on, recovery codes issued. */
  async confirm(actor: Actor, userId: string, code: string): Promise<TwoFactorEnabled> {
    await this.requireSelf(actor, userId);
    const enrolment = await this.repo.find(userId);
    if (!enrolment) {
      throw new ConflictError('No two-factor enrolment was started', 'TWO_FACTOR_NOT_PENDING');
    }
    if (enrolment.enabledAt) {
      throw new ConflictError('Two-factor is already enabled', 'TWO_FACTOR_ALREADY_ENABLED');
    }
    const secret = this.open(enrolment);
    const enabled = await this.guardCode(userId, actor.ip, async () => {
      const step = matchTotp(secret, code, {
        window: this.settings.window,
        afterStep: enrolment.lastStep ?? undefined,
      });
      if (step === undefined) return undefined;
      return withTransaction(this.db, async (tx) => {
        const enabledAt = await this.repo.enable(userId, enrolment.secretCiphertext, step, tx);
        // Confirmed by a concurrent request, or restarted with a new secret meanwhile.
        if (!enabledAt) {
          throw new ConflictError('The enrolment changed meanwhile', 'TWO_FACTOR_NOT_PENDING');
        }
        const recoveryCodes = await this.issueRecoveryCodes(userId, tx);
        await this.record(actor, { type: 'two-factor-enabled', userId, outcome: 'success' }, tx);
        return { enabledAt, recoveryCodes };
      });
    });
    if (!enabled) {
      await this.recordFailure(actor, userId, 'confirm');
      throw wrongCode(403);
    }
    return enabled;
  }

  /**
   * Turns two-factor off. The account itself proves it twice (password, and a code or a
   * recovery code): a stolen access token alone can't remove the second factor. An admin may
   * turn off another account's two-factor without either (a lost phone and lost recovery
   * codes), recorded as theirs in the security log.
   */
  async disable(actor: Actor, userId: string, proof: TwoFactorProof): Promise<void> {
    requireUser(actor);
    const byAdmin = actor.userId !== userId;
    if (byAdmin) {
      if (!can(actor, 'write:users')) throw new NotFoundError('User');
      await this.requireUserExists(userId);
    }
    const enrolment = await this.repo.find(userId);
    if (!enrolment?.enabledAt) {
      throw new ConflictError('Two-factor is not enabled', 'TWO_FACTOR_NOT_ENABLED');
    }
    if (!byAdmin) await this.checkProof(actor, userId, enrolment, proof);
    await withTransaction(this.db, async (tx) => {
      await this.repo.remove(userId, tx);
      await this.record(
        actor,
        {
          type: 'two-factor-disabled',
          userId,
          outcome: 'success',
          details: { by: byAdmin ? 'admin' : 'self' },
        },
        tx,
      );
    });
  }

  /** After a right password: nothing more, a code, or (an admin who must) enrolment first. */
  async gateFor(user: Pick<User, 'id' | 'role'>): Promise<SignInGate> {
    const enrolment = await this.repo.find(user.id);
    if (enrolment?.enabledAt) return 'code';
    return user.role === 'admin' && this.settings.adminRequired ? 'enrol' : 'none';
  }

  /** The step token that carries a right password to the code step. */
  async challenge(userId: string): Promise<SignInChallenge> {
    const stepToken = randomBytes(32).toString('base64url');
    await this.repo.insertChallenge({
      id: uuidv7(),
      userId,
      tokenHash: hashToken(stepToken),
      ttlMs: this.settings.stepTtlMs,
    });
    return { stepToken, expiresIn: Math.floor(this.settings.stepTtlMs / 1000) };
  }

  /**
   * The code step of sign-in: spends the step token and the code (or recovery code) together,
   * or neither, and records the sign-in with its method. Returns the account that may now
   * start a session.
   */
  async completeSignIn(actor: Actor, stepToken: string, factor: SecondFactor): Promise<string> {
    const challenge = await this.repo.findChallenge(hashToken(stepToken));
    if (!challenge) throw invalidStepToken();
    if (challenge.expired) {
      throw new UnauthorizedError('The step token has expired; sign in again', 'TOKEN_EXPIRED');
    }
    const { userId } = challenge;
    const method = 'code' in factor ? 'totp' : 'recovery-code';
    const spendChallenge = async (tx: Tx) => {
      if (!(await this.repo.spendChallenge(challenge.id, tx))) throw invalidStepToken();
      // The account signs itself in, as with a password: it is the actor of its sign-in.
      await this.record(
        { ...actor, userId },
        { type: 'sign-in', userId, outcome: 'success', details: { method } },
        tx,
      );
    };
    let passed: true | undefined;
    try {
      passed = await this.guardCode(userId, actor.ip, () =>
        'code' in factor
          ? this.spendCode(userId, factor.code, 401, spendChallenge)
          : this.spendRecoveryCode(actor, userId, factor.recoveryCode, spendChallenge),
      );
    } catch (err) {
      // Someone guessing at the code step: the account's owner sees it, as at the password step.
      if (err instanceof AppError && err.code === 'RATE_LIMITED') {
        await this.record(actor, {
          type: 'sign-in-throttled',
          userId,
          outcome: 'failure',
          details: { method },
        });
      }
      throw err;
    }
    if (!passed) {
      await this.recordFailure(actor, userId, method);
      throw wrongCode(401);
    }
    return userId;
  }

  /** For the admin requirement on refresh: an admin who must enrol and hasn't. */
  async mustEnrol(user: Pick<User, 'id' | 'role'>): Promise<boolean> {
    // Only admins under the requirement cost a read: every refresh comes through here.
    if (user.role !== 'admin' || !this.settings.adminRequired) return false;
    return (await this.gateFor(user)) === 'enrol';
  }

  /**
   * Accepts `code` if it is the account's for a step inside the window and after the last
   * accepted one; `alsoSpend` runs in the same transaction (the step token). True when
   * accepted, undefined when wrong; a right code already used throws TWO_FACTOR_CODE_USED.
   */
  private async spendCode(
    userId: string,
    code: string,
    status: 401 | 403,
    alsoSpend: (tx: Tx) => Promise<void> = async () => {},
  ): Promise<true | undefined> {
    const enrolment = await this.repo.find(userId);
    if (!enrolment?.enabledAt) return undefined;
    const secret = this.open(enrolment);
    const { window } = this.settings;
    const step = matchTotp(secret, code, { window, afterStep: enrolment.lastStep ?? undefined });
    if (step === undefined) {
      if (matchTotp(secret, code, { window }) !== undefined) throw codeUsed(status);
      return undefined;
    }
    return withTransaction(this.db, async (tx) => {
      await alsoSpend(tx);
      if (!(await this.repo.acceptStep(userId, step, tx))) throw codeUsed(status);
      return true as const;
    });
  }

  private async spendRecoveryCode(
    actor: Actor,
    userId: string,
    recoveryCode: string,
    alsoSpend: (tx: Tx) => Promise<void> = async () => {},
  ): Promise<true | undefined> {
    try {
      return await withTransaction(this.db, async (tx) => {
        await alsoSpend(tx);
        if (!(await this.repo.useRecoveryCode(userId, hashRecoveryCode(recoveryCode), tx))) {
          throw new WrongRecoveryCode();
        }
        await this.record(actor, { type: 'recovery-code-used', userId, outcome: 'success' }, tx);
        return true as const;
      });
    } catch (err) {
      if (err instanceof WrongRecoveryCode) return undefined;
      throw err;
    }
  }

  /** Throttled like a password check, under the code's own key (see throttleKey). */
  private guardCode<T>(
    userId: string,
    ip: string | undefined,
    verify: () => Promise<T | undefined>,
  ) {
    return this.throttle.guard(throttleKey(userId), ip, verify, 'two-factor code');
  }

  private async checkProof(
    actor: Actor,
    userId: string,
    enrolment: StoredTwoFactor,
    proof: TwoFactorProof,
  ) {
    const hasCode = proof.code !== undefined;
    const hasRecovery = proof.recoveryCode !== undefined;
    if (proof.password === undefined || hasCode === hasRecovery) {
      throw new ValidationError('Give the password, and a code or a recovery code', [
        { field: 'body', message: 'needs password, and exactly one of code and recoveryCode' },
      ]);
    }
    await this.users.confirmPassword(actor, userId, proof.password);
    const passed = await this.guardCode(userId, actor.ip, () =>
      proof.code !== undefined
        ? this.spendCode(enrolment.userId, proof.code, 403)
        : this.spendRecoveryCode(actor, userId, proof.recoveryCode!),
    );
    if (!passed) {
      await this.recordFailure(actor, userId, 'disable');
      throw wrongCode(403);
    }
  }

  private async issueRecoveryCodes(userId: string, tx: Tx): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.repo.replaceRecoveryCodes(
      userId,
      codes.map((code) => ({ id: uuidv7(), hash: hashRecoveryCode(code) })),
      tx,
    );
    return codes;
  }

  private open(enrolment: StoredTwoFactor): string {
    const secret = this.secrets.open(enrolment.secretCiphertext, enrolment.userId);
    // Sealed under another key: JWT_SECRET changed since. Only an admin can reset it now.
    if (secret === undefined) throw new Error('The two-factor secret does not open with this key');
    return secret;
  }

  /** Only the account itself enrols; an admin gets 403 for others, anyone else 404. */
  private async requireSelf(actor: Actor, userId: string): Promise<User> {
    requireUser(actor);
    if (actor.userId !== userId) {
      if (!can(actor, 'read:users')) throw new NotFoundError('User');
      await this.requireUserExists(userId);
      throw new ForbiddenError('Only the account itself can enrol in two-factor');
    }
    return this.requireUserExists(userId);
  }

  private async requireVisible(actor: Actor, userId: string): Promise<void> {
    requireUser(actor);
    if (actor.userId !== userId && !can(actor, 'read:users')) throw new NotFoundError('User');
    await this.requireUserExists(userId);
  }

  private async requireUserExists(userId: string): Promise<User> {
    const user = await this.users.findForSession(userId);
    if (!user) throw new NotFoundError('User');
    return user;
  }

  private async recordFailure(actor: Actor, userId: string, step: string) {
    await this.record(actor, {
      type: 'two-factor-failed',
      userId,
      outcome: 'failure',
      details: { step },
    });
  }

  private record(
    actor: Actor,
    event: Pick<SecurityEventInput, 'type' | 'userId' | 'outcome' | 'details'>,
    tx?: Tx,
  ) {
    return this.securityLog.record(
      {
        ...event,
        actorId: actor.userId,
        ip: actor.ip,
        userAgent: actor.userAgent,
        requestId: actor.requestId,
      },
      tx,
    );
  }
}
