import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import type { LoginThrottle } from '../../platform/auth/login-throttle.js';
import { checkPasswordPolicy, WeakPasswordError } from '../../platform/auth/password-policy.js';
import type { PasswordHasher } from '../../platform/auth/passwords.js';
import type { SecurityEventInput, SecurityLog } from '../../platform/audit/security-log.js';
import { authorize, can, requireUser } from '../../platform/auth/permissions.js';
import type { Database } from '../../platform/db/database.js';
import { UniqueViolationError } from '../../platform/db/errors.js';
import type { UserStatus } from '../../platform/db/schema.js';
import { primaryOnly, type ReplicaSafe } from '../../platform/db/replicas.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../../platform/errors.js';
import { offsetOf, type Page, type PageRequest } from '../../platform/paging.js';
import type { CacheAside } from '../../platform/cache/cache-aside.js';
import type { SessionsService } from '../auth/sessions.service.js';
import type { CollectionCount } from '../../platform/db/count.js';
import type { Keyset } from '../../platform/db/keyset.js';
import type { NewUser, User, UserChanges, UsersRepository } from './users.repository.js';
import type {
  CreateUserInput,
  PatchUserInput,
  RegisterInput,
  ReplaceUserInput,
} from './users.schemas.js';
import type { UserSort } from './users.types.js';

export type AdminBootstrap =
  | { outcome: 'created'; user: User }
  | { outcome: 'admin-exists' }
  | { outcome: 'address-taken'; user: User };

/** A security-log event about `userId`, done by `actor`, from where the actor's request came. */
function eventBy(
  actor: Actor | null,
  userId: string,
  type: SecurityEventInput['type'],
  details: SecurityEventInput['details'] = {},
): SecurityEventInput {
  return {
    type,
    userId,
    actorId: actor?.userId ?? null,
    outcome: 'success',
    ip: actor?.ip,
    userAgent: actor?.userAgent,
    requestId: actor?.requestId,
    details,
  };
}

const isActiveAdmin = (user: Pick<User, 'role' | 'status'>) =>
  user.role === 'admin' && user.status === 'active';

/** Refuses a common password, or one made of the account's own email or name (400). */
function requireStrong(password: string, context: { email?: string; name?: string }) {
  const problem = checkPasswordPolicy(password, context);
  if (problem) throw new WeakPasswordError(problem);
}

export interface ListUsersInput extends PageRequest {
  sort: UserSort;
  status?: UserStatus;
}

export interface ListUsersAfterInput {
  after?: Keyset;
  limit: number;
  status?: UserStatus;
}

/** How an email change goes: the account's own by a mailed confirmation, an admin's at once. */
export interface EmailChanges {
  /** In the change's transaction; returns what wakes the mail after the commit. */
  requestEmailChange(tx: Tx, actor: Actor, user: User, newEmail: string): Promise<() => void>;
  /** In the change's transaction: an admin's direct change (links mailed to the old address stop). */
  changedByAdmin(tx: Tx, userId: string): Promise<void>;
}

async function mapConflicts<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof UniqueViolationError) {
      throw new ConflictError('A user with this email already exists', 'EMAIL_TAKEN');
    }
    throw err;
  }
}

/**
 * Business rules for users, the access rules included, so REST, GraphQL and jobs share them.
 * Everyone reads and edits themselves; `read:users` reads others; `write:users` edits others;
 * `delete:users` deletes. A user who can't read another user gets 404 for it, never 403,
 * so ids can't be probed; role and status change only by admins.
 */
export class UsersService {
  constructor(
    private readonly db: Database,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionsService,
    /** Bounds the guesses wherever a password is checked: sign-in and the current password. */
    private readonly attempts: LoginThrottle,
    /** Users by id, cache-aside: every write below invalidates after its commit. */
    private readonly byId: CacheAside<User>,
    /** Records account changes in the transaction that makes them. */
    private readonly securityLog: SecurityLog,
    /** What other modules open for every new user, in the user's transaction (a wallet). */
    private readonly onUserCreated: (tx: Tx, user: User) => Promise<void> = async () => {},
    /** The account's own email changes wait for the new address to confirm (AccountEmails). */
    private readonly emailChanges?: EmailChanges,
    /** Pages may go to a replica; reads by id stay on the cache and the primary. */
    private readonly readable: ReplicaSafe<UsersRepository> = primaryOnly(users),
  ) {}

  async getUser(actor: Actor, id: string): Promise<User> {
    this.assertCanSee(actor, id);
    return this.requireCached(id);
  }

  async getMe(actor: Actor): Promise<User> {
    requireUser(actor);
    return this.requireCached(actor.userId);
  }

  async listUsers(actor: Actor, input: ListUsersInput): Promise<Page<User>> {
    authorize(actor, 'read:users');
    return (await this.readable(actor)).list({
      ...offsetOf(input),
      sort: input.sort,
      status: input.status,
    });
  }

  /**
   * listUsers' page without its total (GraphQL's `users`, which has no field for it): the
   * total counts every user, which is most of the cost of a page of a large table.
   */
  async listUsersPage(actor: Actor, input: ListUsersInput): Promise<User[]> {
    authorize(actor, 'read:users');
    return (await this.readable(actor)).listPage({
      ...offsetOf(input),
      sort: input.sort,
      status: input.status,
    });
  }

  /** The keyset form of listUsers (API v2): the same permission, no count. */
  async listUsersAfter(actor: Actor, input: ListUsersAfterInput): Promise<User[]> {
    authorize(actor, 'read:users');
    return (await this.readable(actor)).listAfter(input);
  }

  /** The size of what listUsers lists: exact up to `exactUpTo`, estimated above. */
  async countUsers(
    actor: Actor,
    input: { status?: UserStatus; exactUpTo: number },
  ): Promise<CollectionCount> {
    authorize(actor, 'read:users');
    return this.users.count({ status: input.status }, input.exactUpTo);
  }

  async createUser(actor: Actor, input: CreateUserInput, tx?: Tx): Promise<User> {
    authorize(actor, 'write:users');
    if (input.password) requireStrong(input.password, input);
    return this.insert(
      {
        name: input.name,
        email: input.email,
        role: input.role ?? 'user',
        status: input.status ?? 'active',
        passwordHash: input.password ? await this.passwords.hash(input.password) : null,
        // An admin or operator made the account and vouches for its address.
        emailVerified: true,
      },
      tx,
      { actor, via: 'admin' },
    );
  }

  /**
   * Self-registration: always the `user` role. The password is hashed before the transaction
   * opens, so argon2's tens of milliseconds never hold a pooled connection; `alsoCommit` adds
   * what must commit with the user (its welcome email).
   */
  async registerUser<T>(
    input: RegisterInput,
    alsoCommit: (tx: Tx, user: User) => Promise<T>,
  ): Promise<{ user: User; committed: T }> {
    requireStrong(input.password, input);
    const passwordHash = await this.passwords.hash(input.password);
    return withTransaction(this.db, async (tx) => {
      const user = await this.insert(
        { name: input.name, email: input.email, role: 'user', status: 'active', passwordHash },
        tx,
      );
      return { user, committed: await alsoCommit(tx, user) };
    });
  }

  /**
   * An account made by a sign-in through an OpenID provider: the `user` role and no password
   * (password sign-in stays impossible until a reset sets one). The address counts as verified
   * only when the provider said so. `alsoCommit` adds what must commit with the user (the link
   * to the provider's identity).
   */
  async createFromIdentity<T>(
    input: { name: string; email: string; emailVerified: boolean },
    alsoCommit: (tx: Tx, user: User) => Promise<T>,
  ): Promise<{ user: User; committed: T }> {
    return withTransaction(this.db, async (tx) => {
      const user = await this.insert(
        {
          name: input.name,
          email: input.email,
          role: 'user',
          status: 'active',
          passwordHash: null,
          emailVerified: input.emailVerified,
        },
        tx,
      );
      return { user, committed: await alsoCommit(tx, user) };
    });
  }

  /** For sign-in through a provider: the account holding `email` (its emailVerified says whether it proved it). */
  async findForLinking(email: string): Promise<User | undefined> {
    return this.users.findByEmail(email);
  }

  async replaceUser(actor: Actor, id: string, input: ReplaceUserInput): Promise<User> {
    return this.updateUser(actor, id, input);
  }

  async updateUser(actor: Actor, id: string, input: PatchUserInput): Promise<User> {
    this.assertCanSee(actor, id);
    const self = actor.userId === id;
    if (!self) authorize(actor, 'write:users');
    const current = await this.require(id);
    const { password, currentPassword, ...fields } = input;
    const changes: UserChanges = { ...fields };
    const privileged =
      (fields.role !== undefined && fields.role !== current.role) ||
      (fields.status !== undefined && fields.status !== current.status);
    if (privileged && actor.role !== 'admin') {
      throw new ForbiddenError('Only admins change role or status', 'FORBIDDEN');
    }
    const emailChanged = fields.email !== undefined && fields.email !== current.email;
    if (self && (emailChanged || password !== undefined)) {
      await this.checkCurrentPassword(actor, current, currentPassword);
    }
    // The account's own new address must confirm first; an admin's change is direct and
    // counts as verified (the admin vouches for it), like an account an admin creates.
    const pendingEmail = self && emailChanged && this.emailChanges ? fields.email : undefined;
    if (pendingEmail !== undefined) delete changes.email;
    else if (emailChanged) changes.emailVerified = !self;
    if (password !== undefined) {
      requireStrong(password, {
        email: fields.email ?? current.email,
        name: fields.name ?? current.name,
      });
      changes.passwordHash = await this.passwords.hash(password);
    }
    // Password, role and status changes end every session: tokens carry the old role,
    // and a suspended user or a stolen password must be locked out at once.
    const endSessions = password !== undefined || privileged;
    const leavesAdmins = isActiveAdmin(current) && !isActiveAdmin({ ...current, ...fields });
    const { user, afterCommit, mail } = await withTransaction(this.db, async (tx) => {
      if (leavesAdmins) await this.keepAnAdmin(id, tx);
      const updated = await mapConflicts(this.users.update(id, changes, tx));
      if (!updated) throw new NotFoundError('User');
      await this.recordChanges(actor, current, updated, password !== undefined, tx);
      const mail =
        pendingEmail === undefined
          ? undefined
          : await this.emailChanges?.requestEmailChange(tx, actor, current, pendingEmail);
      if (emailChanged && pendingEmail === undefined) {
        await this.emailChanges?.changedByAdmin(tx, id);
      }
      return {
        mail,
        user: updated,
        afterCommit: endSessions
          ? await this.sessions.revokeAllForUser(id, tx, {
              reason: password !== undefined ? 'password-changed' : 'access-changed',
              actor,
            })
          : undefined,
      };
    });
    // After the commit, before answering; cache trouble is absorbed below (GuardedCache).
    await this.byId.invalidate(id);
    await afterCommit?.();
    mail?.();
    return user;
  }

  async deleteUser(actor: Actor, id: string): Promise<void> {
    this.assertCanSee(actor, id);
    authorize(actor, 'delete:users');
    // Deleting the row cascades to the user's wallets while the user's own orders may hold
    // them and wait for a key lock on this row: PostgreSQL breaks that deadlock by aborting one
    // side, and the deletion, undone whole, simply runs again.
    const afterCommit = await withTransaction(
      this.db,
      async (tx) => {
        await this.keepAnAdmin(id, tx);
        const deny = await this.sessions.revokeAllForUser(id, tx);
        if (!(await this.users.delete(id, tx))) throw new NotFoundError('User');
        await this.securityLog.record(eventBy(actor, id, 'account-deleted'), tx);
        return deny;
      },
      { retries: 3 },
    );
    await this.byId.invalidate(id);
    await afterCommit();
  }

  /**
   * The user whose email and password match, or undefined; throttled per email and address
   * (429 past the budget, before any hash is verified). Unknown emails cost the same hash
   * verification and the same throttling as wrong passwords, so neither timing nor the
   * throttle tells which accounts exist.
   */
  async verifyCredentials(
    email: string,
    password: string,
    ip: string | undefined,
  ): Promise<User | undefined> {
    return this.attempts.guard(email, ip, () => this.passwordMatch({ email }, password));
  }

  /** For the security log: the id of the account holding an address, if any, whoever asks. */
  async accountIdFor(email: string): Promise<string | undefined> {
    return (await this.users.findByEmail(email))?.id;
  }

  /**
   * Re-authentication for another module's sensitive change (turning two-factor off): the
   * account's own password, throttled like a sign-in; 403 INVALID_CURRENT_PASSWORD if wrong.
   */
  async confirmPassword(actor: Actor, id: string, password: string): Promise<void> {
    await this.checkCurrentPassword(actor, await this.require(id), password);
  }

  /** The account holding an address, if any (`read:users`). */
  async findByEmail(actor: Actor, email: string): Promise<User | undefined> {
    authorize(actor, 'read:users');
    return this.users.findByEmail(email);
  }

  /** For the auth module: the user a session belongs to, whatever the caller. */
  async findForSession(id: string): Promise<User | undefined> {
    return this.byId.get(id, () => this.users.findById(id));
  }

  /**
   * The start-up bootstrap (ADMIN_EMAIL / ADMIN_PASSWORD): creates that admin only when no
   * active admin exists and no account holds the address. It never promotes an existing
   * account: whoever registered the address since would become admin, sessions and all.
   * Promoting is an operator's explicit act (`npm run user:create -- --role admin`).
   */
  async ensureAdmin(email: string, password: string): Promise<AdminBootstrap> {
    if ((await this.users.countActiveAdmins()) > 0) return { outcome: 'admin-exists' };
    const existing = await this.users.findByEmail(email);
    if (existing) return { outcome: 'address-taken', user: existing };
    requireStrong(password, { email });
    try {
      const user = await this.insert(
        {
          name: 'Administrator',
          email,
          role: 'admin',
          status: 'active',
          passwordHash: await this.passwords.hash(password),
          emailVerified: true,
        },
        undefined,
        { actor: null, via: 'bootstrap' },
      );
      return { outcome: 'created', user };
    } catch (err) {
      // Another process starting at the same moment created it first.
      if (err instanceof ConflictError) return { outcome: 'admin-exists' };
      throw err;
    }
  }

  /**
   * Every way a user comes into being: one insert, one conflict mapping, the rows other modules
   * keep per user (in the same transaction), one cache update. A new id may have been
   * remembered as unknown (negative caching): that entry goes. In a caller's transaction the
   * invalidation runs before the commit, so a read in between may remember the id as unknown
   * for CACHE_NEGATIVE_TTL_S at most (the id is new: no one should ask yet).
   */
  private async insert(
    user: Omit<NewUser, 'id'>,
    tx?: Tx,
    /** Who creates it, for the security log (registration records its own). */
    origin?: { actor: Actor | null; via: string },
  ): Promise<User> {
    const insertIn = async (t: Tx) => {
      const created = await mapConflicts(this.users.create({ id: uuidv7(), ...user }, t));
      await this.onUserCreated(t, created);
      if (origin) {
        const details = { via: origin.via, role: created.role };
        await this.securityLog.record(
          eventBy(origin.actor, created.id, 'account-created', details),
          t,
        );
      }
      return created;
    };
    const created = tx ? await insertIn(tx) : await withTransaction(this.db, insertIn);
    await this.byId.invalidate(created.id);
    return created;
  }

  /** The security-log records of an update, in its transaction: one per kind of change. */
  private async recordChanges(
    actor: Actor,
    before: User,
    after: User,
    passwordChanged: boolean,
    tx: Tx,
  ) {
    const events: SecurityEventInput[] = [];
    if (passwordChanged) events.push(eventBy(actor, after.id, 'password-changed'));
    if (after.email !== before.email) {
      events.push(
        eventBy(actor, after.id, 'email-changed', { from: before.email, to: after.email }),
      );
    }
    if (after.role !== before.role) {
      events.push(eventBy(actor, after.id, 'role-changed', { from: before.role, to: after.role }));
    }
    if (after.status !== before.status) {
      const details = { from: before.status, to: after.status };
      events.push(eventBy(actor, after.id, 'status-changed', details));
    }
    // One after another: they append to one chain, in one transaction.
    for (const event of events) await this.securityLog.record(event, tx);
  }

  private assertCanSee(actor: Actor, id: string) {
    requireUser(actor);
    if (actor.userId !== id && !can(actor, 'read:users')) throw new NotFoundError('User');
  }

  /** Writes decide on the row as the database has it, never on a cached copy. */
  private async require(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('User');
    return user;
  }

  private async requireCached(id: string): Promise<User> {
    const user = await this.byId.get(id, () => this.users.findById(id));
    if (!user) throw new NotFoundError('User');
    return user;
  }

  /**
   * The user found `by`, if `password` is theirs. No account, or one without a password, costs
   * the same hash verification as a wrong password, so timing doesn't tell which exist.
   */
  private async passwordMatch(
    by: { id: string } | { email: string },
    password: string,
  ): Promise<User | undefined> {
    const found = await this.users.findWithPasswordHash(by);
    if (!found?.passwordHash) {
      await this.passwords.verifyDummy(password);
      return undefined;
    }
    return (await this.passwords.verify(found.passwordHash, password)) ? found.user : undefined;
  }

  /** Throttled like a sign-in: a stolen access token must not become a way to guess. */
  private async checkCurrentPassword(
    actor: Actor,
    current: User,
    currentPassword: string | undefined,
  ) {
    if (currentPassword === undefined) {
      throw new ValidationError('The current password is required for this change', [
        { field: 'body.currentPassword', message: 'is required to change email or password' },
      ]);
    }
    const valid = await this.attempts.guard(current.email, actor.ip, () =>
      this.passwordMatch({ id: current.id }, currentPassword),
    );
    if (!valid)
      throw new ForbiddenError('The current password is wrong', 'INVALID_CURRENT_PASSWORD');
  }

  /**
   * Inside the transaction that would demote, suspend or delete `id`: refuses when it is the
   * last active admin. The active admins' rows stay locked to the commit, so two admins
   * demoting each other at once can't both see the other one remain.
   */
  private async keepAnAdmin(id: string, tx: Tx) {
    const admins = await this.users.lockActiveAdmins(tx);
    if (admins.length === 1 && admins[0] === id) {
      throw new ConflictError('The last active admin cannot be removed or demoted', 'LAST_ADMIN');
    }
  }
}
