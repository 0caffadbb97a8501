import { sql, type Selectable } from 'kysely';
import { countOrEstimate, type CollectionCount } from '../../platform/db/count.js';
import type { Database } from '../../platform/db/database.js';
import { isUniqueViolation, UniqueViolationError } from '../../platform/db/errors.js';
import type { UserRole, UsersTable, UserStatus } from '../../platform/db/schema.js';
import type { Keyset } from '../../platform/db/keyset.js';
import type { Tx } from '../../platform/db/transaction.js';
import type { UserSort } from './users.types.js';

export interface User {
  id: string;
  name: string;
  email: string;
  role: UserRole;
  status: UserStatus;
  /** The account proved it holds `email` (a mailed link, a provider that verified it), or an operator made it. */
  emailVerified: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  id: string;
  name: string;
  email: string;
  role: UserRole;
  status: UserStatus;
  passwordHash?: string | null;
  /** Verified from the start: accounts an operator or admin makes, a provider's verified address. */
  emailVerified?: boolean;
}

export type UserChanges = Partial<
  Pick<User, 'name' | 'email' | 'role' | 'status' | 'emailVerified'>
> & {
  passwordHash?: string;
};

export interface ListUsersOptions {
  offset: number;
  limit: number;
  sort: UserSort;
  status?: UserStatus;
}

export interface ListUsersAfterOptions {
  after?: Keyset;
  limit: number;
  status?: UserStatus;
}

/**
 * Storage-neutral interface: plain domain objects in and out; a `Tx` only joins the caller's
 * transaction. PostgresUsersRepository is its PostgreSQL implementation (row comparisons,
 * `lower(email)`, count estimates).
 */
export interface UsersRepository {
  findById(id: string, tx?: Tx): Promise<User | undefined>;
  findByEmail(email: string, tx?: Tx): Promise<User | undefined>;
  /** The only way a password hash leaves the table: to the service that verifies it. */
  findWithPasswordHash(
    by: { id: string } | { email: string },
  ): Promise<{ user: User; passwordHash: string | null } | undefined>;
  countActiveAdmins(): Promise<number>;
  /** The ids of the active admins, their rows locked until the transaction ends. */
  lockActiveAdmins(tx: Tx): Promise<string[]>;
  list(options: ListUsersOptions): Promise<{ items: User[]; totalCount: number }>;
  /** The page of `list` without its total: nothing but the page's rows is read. */
  listPage(options: ListUsersOptions): Promise<User[]>;
  /** Newest first, the rows after a position (keyset pagination). */
  listAfter(options: ListUsersAfterOptions): Promise<User[]>;
  /** Exact up to `exactUpTo` users, an estimate above. */
  count(filter: { status?: UserStatus }, exactUpTo: number): Promise<CollectionCount>;
  create(user: NewUser, tx?: Tx): Promise<User>;
  update(id: string, changes: UserChanges, tx?: Tx): Promise<User | undefined>;
  delete(id: string, tx?: Tx): Promise<boolean>;
}

const columns = [
  'id',
  'name',
  'email',
  'role',
  'status',
  'email_verified_at',
  'created_at',
  'updated_at',
] as const;

function toUser(row: Pick<Selectable<UsersTable>, (typeof columns)[number]>): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    role: row.role,
    status: row.status,
    emailVerified: row.email_verified_at !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * "The row comes after `after`" in (created_at DESC, id DESC) order. users.created_at keeps
 * microseconds but a Date (and so a cursor) only milliseconds, so the position's exact
 * timestamp is read back from its row by primary key; without that, rows sharing its
 * millisecond (a batch inserted in one statement shares one now()) would be skipped. If the row
 * was deleted meanwhile, the cursor's own timestamp stands in. (posts stores milliseconds.)
 */
function usersAfter(after: Keyset) {
  const exact = sql`(select k.created_at from users as k where k.id = ${after.id}::uuid)`;
  const createdAt = sql`coalesce(${exact}, ${after.createdAt.toISOString()}::timestamptz)`;
  return sql<boolean>`(users.created_at, users.id) < (${createdAt}, ${after.id}::uuid)`;
}

const sortColumns = { createdAt: 'created_at', name: 'name', email: 'email' } as const;

async function translateUnique<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isUniqueViolation(err)) throw new UniqueViolationError(err.constraint);
    throw err;
  }
}

export class PostgresUsersRepository implements UsersRepository {
  constructor(private readonly db: Database) {}

  async findById(id: string, tx: Tx | Database = this.db) {
    const row = await tx
      .selectFrom('users')
      .select(columns)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findByEmail(email: string, tx: Tx | Database = this.db) {
    // Matches the expression of users_email_lower_key, so the unique index serves it. The
    // database lowers both sides: JavaScript's toLowerCase differs from lower() (e.g. for "İ").
    const row = await tx
      .selectFrom('users')
      .select(columns)
      .where(sql<string>`lower(email)`, '=', sql<string>`lower(${email})`)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findWithPasswordHash(by: { id: string } | { email: string }) {
    const query = this.db.selectFrom('users').select([...columns, 'password_hash']);
    const row = await (
      'id' in by
        ? query.where('id', '=', by.id)
        : query.where(sql<string>`lower(email)`, '=', sql<string>`lower(${by.email})`)
    ).executeTakeFirst();
    return row && { user: toUser(row), passwordHash: row.password_hash };
  }

  async countActiveAdmins() {
    const row = await this.db
      .selectFrom('users')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('role', '=', 'admin')
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    return row.n;
  }

  async lockActiveAdmins(tx: Tx) {
    // In id order, as every locker here takes them, so two such transactions can't deadlock.
    const rows = await tx
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .where('status', '=', 'active')
      .orderBy('id')
      .forUpdate()
      .execute();
    return rows.map((row) => row.id);
  }

  async list({ offset, limit, sort, status }: ListUsersOptions) {
    // The page and the total in one statement: count(*) over () is computed before LIMIT.
    const rows = await this.pageQuery({ offset, limit, sort, status })
      .select(sql<number>`(count(*) over ())::int`.as('total_count'))
      .execute();
    let totalCount = rows[0]?.total_count ?? 0;
    // A page past the end has no rows to carry the total: count on its own.
    if (rows.length === 0 && offset > 0) {
      let countQuery = this.db.selectFrom('users').select(sql<number>`count(*)::int`.as('n'));
      if (status) countQuery = countQuery.where('status', '=', status);
      totalCount = (await countQuery.executeTakeFirstOrThrow()).n;
    }
    return { items: rows.map(toUser), totalCount };
  }

  async listPage(options: ListUsersOptions) {
    const rows = await this.pageQuery(options).execute();
    return rows.map(toUser);
  }

  private pageQuery({ offset, limit, sort, status }: ListUsersOptions) {
    const direction = sort.startsWith('-') ? 'desc' : 'asc';
    const column = sortColumns[sort.replace('-', '') as keyof typeof sortColumns];
    let query = this.db
      .selectFrom('users')
      .select(columns)
      .orderBy(column, direction)
      .orderBy('id', direction)
      .offset(offset)
      .limit(limit);
    if (status) query = query.where('status', '=', status);
    return query;
  }

  async listAfter({ after, limit, status }: ListUsersAfterOptions) {
    // users_created_idx, or users_active_created_idx for status=active, in index order.
    let query = this.db
      .selectFrom('users')
      .select(columns)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit);
    if (status) query = query.where('status', '=', status);
    if (after) query = query.where(usersAfter(after));
    return (await query.execute()).map(toUser);
  }

  async count({ status }: { status?: UserStatus }, exactUpTo: number) {
    let rows = this.db.selectFrom('users').select('id');
    if (status) rows = rows.where('status', '=', status);
    return countOrEstimate(this.db, rows, exactUpTo);
  }

  async create(user: NewUser, tx: Tx | Database = this.db) {
    const row = await translateUnique(
      tx
        .insertInto('users')
        .values({
          id: user.id,
          name: user.name,
          email: user.email,
          role: user.role,
          status: user.status,
          password_hash: user.passwordHash ?? null,
          ...(user.emailVerified ? { email_verified_at: sql<Date>`now()` } : {}),
        })
        .returning(columns)
        .executeTakeFirstOrThrow(),
    );
    return toUser(row);
  }

  async update(id: string, changes: UserChanges, tx: Tx | Database = this.db) {
    const { passwordHash, emailVerified, ...fields } = changes;
    const row = await translateUnique(
      tx
        .updateTable('users')
        .set({
          ...fields,
          ...(passwordHash === undefined ? {} : { password_hash: passwordHash }),
          ...(emailVerified === undefined
            ? {}
            : {
                email_verified_at: emailVerified
                  ? sql<Date>`coalesce(email_verified_at, now())`
                  : null,
              }),
          // The row's version (migration 0003): whatever orders or tags by it stays right.
          version: sql`version + 1`,
          updated_at: sql`now()`,
        })
        .where('id', '=', id)
        .returning(columns)
        .executeTakeFirst(),
    );
    return row && toUser(row);
  }

  async delete(id: string, tx: Tx | Database = this.db) {
    const result = await tx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
