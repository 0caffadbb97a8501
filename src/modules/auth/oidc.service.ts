import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../../platform/auth/actor.js';
import {
  OidcClient,
  OidcSignInError,
  type OidcChecks,
  type OidcIdentity,
} from '../../platform/auth/oidc-client.js';
import type { SecurityEventInput, SecurityLog } from '../../platform/audit/security-log.js';
import type { Database } from '../../platform/db/database.js';
import { UniqueViolationError } from '../../platform/db/errors.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import {
  AppError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
} from '../../platform/errors.js';
import type { JobScheduler } from '../../platform/jobs/job.js';
import type { UsersJobPayloads } from '../users/users.jobs.js';
import type { User } from '../users/users.repository.js';
import type { UsersService } from '../users/users.service.js';
import type { AuthService, TokenPair } from './auth.service.js';
import type { OidcRepository } from './oidc.repository.js';

/** How long a browser has to come back from the provider's sign-in pages. */
export const OIDC_LOGIN_TTL_MS = 10 * 60_000;

/** What the authorize route hands the browser: where to go, and the key that binds it. */
export interface OidcStart {
  url: string;
  /** Kept by the browser (a cookie) and shown again at the callback. */
  browserKey: string;
  ttlSeconds: number;
}

export interface OidcCallback {
  /** The callback's query as the provider sent it (code, state, iss; or error). */
  query: Record<string, string>;
  /** The key of the browser presenting it, if it sent one. */
  browserKey: string | undefined;
}

type StateProblem = 'unknown' | 'used' | 'expired' | 'other-browser';

const STATE_MESSAGES: Record<StateProblem, string> = {
  unknown: 'This sign-in was not started here',
  used: 'This sign-in was completed or refused already; start again',
  expired: 'This sign-in took too long; start again',
  'other-browser': 'This sign-in was started in another browser; start again there',
};

const digest = (value: string) => createHash('sha256').update(value).digest('hex');

function sameDigest(value: string | undefined, expectedHex: string): boolean {
  if (value === undefined) return false;
  return timingSafeEqual(Buffer.from(digest(value), 'hex'), Buffer.from(expectedHex, 'hex'));
}

/** An address a user row can hold (what the provider sends is not checked by our schema). */
const usableEmail = (email: string | undefined): email is string =>
  email !== undefined && email.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(email);

/** A name for the users row: the provider's, cut to the column's bound, or the address's name. */
function displayName(identity: OidcIdentity, email: string): string {
  const name = identity.name?.trim().slice(0, 100);
  return name || email.split('@')[0]!.slice(0, 100);
}

/**
 * Sign-in through an OpenID provider (authorization code flow, PKCE, state, nonce). Who the
 * provider says signed in becomes a local user: the one already linked to that identity; else
 * the account holding the same address, linked only when both sides verified the address;
 * else a new account. No account is ever taken over through an address nobody proved.
 */
export class OidcService {
  constructor(
    private readonly db: Database,
    private readonly logins: OidcRepository,
    /** Undefined when OIDC_* is not configured (the routes are not registered then). */
    private readonly client: OidcClient | undefined,
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly securityLog: SecurityLog,
    /** The welcome email of an account made here, as registration sends it. */
    private readonly jobs: JobScheduler<UsersJobPayloads>,
  ) {}

  get configured(): boolean {
    return this.client !== undefined;
  }

  /**
   * Starts a sign-in: fresh state, nonce and PKCE verifier, kept server-side under the state's
   * hash with the hash of a browser key that only the starting browser receives. Discovery
   * runs first, so a provider that is down answers 502 and leaves nothing behind.
   */
  async begin(_actor: Actor): Promise<OidcStart> {
    const client = this.requireClient();
    const checks = OidcClient.newChecks();
    const url = await client.authorizationUrl(checks);
    const browserKey = randomBytes(32).toString('base64url');
    await this.logins.insertPending({
      stateHash: digest(checks.state),
      browserHash: digest(browserKey),
      codeVerifier: checks.codeVerifier,
      nonce: checks.nonce,
      ttlMs: OIDC_LOGIN_TTL_MS,
    });
    return { url: url.href, browserKey, ttlSeconds: OIDC_LOGIN_TTL_MS / 1000 };
  }

  /** The callback: spends the state, exchanges the code, finds or makes the user, signs in. */
  async complete(actor: Actor, callback: OidcCallback): Promise<TokenPair> {
    const client = this.requireClient();
    const checks = await this.spendState(actor, callback);
    let identity: OidcIdentity;
    try {
      identity = await client.exchange(callback.query, checks);
    } catch (err) {
      if (err instanceof OidcSignInError) await this.failed(actor, null, err.reason);
      throw err;
    }
    const user = await this.userFor(actor, identity);
    let tokens: TokenPair;
    try {
      tokens = await this.auth.startSession(actor, user);
    } catch (err) {
      if (err instanceof AppError && err.code === 'ACCOUNT_SUSPENDED') {
        await this.failed(actor, user.id, 'account-suspended');
      }
      throw err;
    }
    await this.securityLog.record(
      this.event(actor, 'sign-in', user.id, { method: 'oidc', issuer: identity.issuer }),
    );
    return tokens;
  }

  private requireClient(): OidcClient {
    if (!this.client) {
      throw new NotFoundError('OpenID Connect sign-in (not configured)');
    }
    return this.client;
  }

  /**
   * The state must name a sign-in started here, not yet spent, not expired, by the browser
   * presenting it; then it is spent, once, whatever follows (a refused code included).
   */
  private async spendState(actor: Actor, { query, browserKey }: OidcCallback): Promise<OidcChecks> {
    const state = query.state ?? '';
    const stateHash = digest(state);
    const pending = await this.logins.findPending(stateHash);
    let problem: StateProblem | undefined;
    if (!pending) problem = 'unknown';
    else if (pending.consumed) problem = 'used';
    else if (pending.expired) problem = 'expired';
    else if (!sameDigest(browserKey, pending.browserHash)) problem = 'other-browser';
    else if (!(await this.logins.consumePending(stateHash))) problem = 'used';
    if (problem || !pending) {
      const reason = problem ?? 'unknown';
      await this.failed(actor, null, `state-${reason}`);
      throw new BadRequestError('OIDC_STATE_INVALID', STATE_MESSAGES[reason], { reason });
    }
    return { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier };
  }

  /** The linked user; else link or create by address. One retry covers a concurrent first sign-in. */
  private async userFor(actor: Actor, identity: OidcIdentity): Promise<User> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.findOrLink(actor, identity);
      } catch (err) {
        const raced =
          err instanceof UniqueViolationError ||
          (err instanceof ConflictError && err.code === 'EMAIL_TAKEN');
        if (!raced) throw err;
        // Raced twice in a row: a clear 409 the client may retry, never a 500.
        if (attempt > 0) {
          throw err instanceof ConflictError
            ? err
            : new ConflictError('Another sign-in for this identity is in progress; try again');
        }
      }
    }
  }

  private async findOrLink(actor: Actor, identity: OidcIdentity): Promise<User> {
    const linkedId = await this.logins.findLinkedUserId(identity.issuer, identity.subject);
    const linked = linkedId === undefined ? undefined : await this.users.findForSession(linkedId);
    if (linked) return linked;
    if (!usableEmail(identity.email)) {
      await this.failed(actor, null, 'email-missing');
      throw new ForbiddenError(
        'The provider gave no email address; allow this application to see it',
        'OIDC_EMAIL_REQUIRED',
      );
    }
    const email = identity.email;
    const existing = await this.users.findForLinking(email);
    if (existing) return this.linkExisting(actor, identity, existing);
    const { user, committed: wakeRelay } = await this.users.createFromIdentity(
      { name: displayName(identity, email), email, emailVerified: identity.emailVerified },
      async (tx, created) => {
        await this.link(tx, identity, created.id);
        await this.securityLog.record(
          this.event(actor, 'account-created', created.id, {
            method: 'oidc',
            issuer: identity.issuer,
            emailVerified: identity.emailVerified,
          }),
          tx,
        );
        await this.recordLinked(tx, actor, identity, created.id);
        return this.jobs.schedule(
          tx,
          'email.welcome',
          { userId: created.id, email: created.email, name: created.name },
          { requestId: actor.requestId },
        );
      },
    );
    wakeRelay();
    return user;
  }

  /**
   * Links the account holding the address only when the provider verified it and the account
   * did too: otherwise whoever controls either side unproven could take over the other.
   */
  private async linkExisting(actor: Actor, identity: OidcIdentity, user: User): Promise<User> {
    if (!identity.emailVerified) {
      await this.failed(actor, user.id, 'provider-email-unverified');
      throw new ForbiddenError(
        'An account uses this address, and the provider has not verified it',
        'OIDC_EMAIL_NOT_VERIFIED',
      );
    }
    if (!user.emailVerified) {
      await this.failed(actor, user.id, 'account-email-unverified');
      throw new ConflictError(
        'An account uses this address but has not verified it; sign in with its password and ' +
          'verify the address first',
        'OIDC_ACCOUNT_NOT_VERIFIED',
      );
    }
    if (user.status === 'suspended') return user;
    await withTransaction(this.db, async (tx) => {
      await this.link(tx, identity, user.id);
      await this.recordLinked(tx, actor, identity, user.id);
    });
    return user;
  }

  private link(tx: Tx, identity: OidcIdentity, userId: string) {
    return this.logins.link({ issuer: identity.issuer, subject: identity.subject, userId }, tx);
  }

  private recordLinked(tx: Tx, actor: Actor, identity: OidcIdentity, userId: string) {
    return this.securityLog.record(
      this.event(actor, 'oidc-linked', userId, { issuer: identity.issuer }),
      tx,
    );
  }

  private failed(actor: Actor, userId: string | null, reason: string) {
    return this.securityLog.record({
      ...this.event(actor, 'sign-in-failed', userId, { method: 'oidc', reason }),
      outcome: 'failure',
      actorId: null,
    });
  }

  private event(
    actor: Actor,
    type: SecurityEventInput['type'],
    userId: string | null,
    details: SecurityEventInput['details'],
  ): SecurityEventInput {
    return {
      type,
      userId,
      actorId: userId,
      outcome: 'success',
      ip: actor.ip,
      userAgent: actor.userAgent,
      requestId: actor.requestId,
      details,
    };
  }
}
