import crypto from 'node:crypto';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../platform/db/database.js';
import type { UserRole, UserStatus } from '../platform/db/schema.js';

/** Fake users for development and load tests; `npm run db:seed` and the benchmark share it. */

export interface SeedUser {
  id: string;
  name: string;
  email: string;
  role: UserRole;
  status: UserStatus;
  createdAt: Date;
  /** Only the demo users have one: bulk users can't sign in. */
  passwordHash?: string | null;
}

/** Rows per INSERT: large enough to amortise the round trip and the plan, small enough to stream. */
export const SEED_BATCH_SIZE = 5_000;

const FIRST_NAMES = [
  'Ada',
  'Alan',
  'Barbara',
  'Donald',
  'Edsger',
  'Frances',
  'Grace',
  'Ken',
  'Radia',
  'Tim',
];
const LAST_NAMES = ['Hopper', 'Lovelace', 'Knuth', 'Liskov', 'Turing'];
const DAY_MS = 86_400_000;

function randomItem<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

/**
 * Inserts the users in one statement: one array parameter per column, spread into rows by unnest,
 * so 5,000 rows cost one round trip and one plan instead of 5,000.
 * An email that already exists (in any case) is skipped, so seeding twice does not fail.
 * The operator seeds them: their addresses count as verified from their creation.
 * Returns the number of rows inserted.
 */
export async function insertUsers(db: Database, users: readonly SeedUser[]): Promise<number> {
  if (users.length === 0) return 0;
  const result = await sql`
    insert into users (id, name, email, role, status, created_at, updated_at, password_hash,
                       email_verified_at)
    select id, name, email, role, status, created_at, created_at, password_hash, created_at
    from unnest(
      ${users.map((u) => u.id)}::uuid[],
      ${users.map((u) => u.name)}::text[],
      ${users.map((u) => u.email)}::text[],
      ${users.map((u) => u.role)}::text[],
      ${users.map((u) => u.status)}::text[],
      ${users.map((u) => u.createdAt.toISOString())}::timestamptz[],
      ${users.map((u) => u.passwordHash ?? null)}::text[]
    ) as t(id, name, email, role, status, created_at, password_hash)
    on conflict ((lower(email))) do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** One admin-looking account and fifty people, with fixed emails so a second run adds nothing. */
export function demoUsers(now = Date.now()): SeedUser[] {
  const admin: SeedUser = {
    id: uuidv7({ msecs: now - 60 * DAY_MS }),
    name: 'Admin',
    email: 'admin@example.com',
    role: 'admin',
    status: 'active',
    createdAt: new Date(now - 60 * DAY_MS),
  };
  const people = FIRST_NAMES.flatMap((first, i) =>
    LAST_NAMES.map((last, j): SeedUser => {
      const n = i * LAST_NAMES.length + j;
      const createdAt = now - (50 - n) * DAY_MS;
      return {
        id: uuidv7({ msecs: createdAt }),
        name: `${first} ${last}`,
        email: `${first}.${last}@example.com`.toLowerCase(),
        role: n % 12 === 11 ? 'guest' : 'user',
        status: n % 10 === 9 ? 'suspended' : 'active',
        createdAt: new Date(createdAt),
      };
    }),
  );
  return [admin, ...people];
}

/**
 * count random users created between `from` and `to`, oldest first so their UUIDv7 ids arrive
 * in index order. About 10% are suspended, so the partial index on active users has rows to skip.
 */
export function randomUsers(count: number, from: number, to: number): SeedUser[] {
  const step = (to - from) / count;
  // One call for all the ids' random bits: a getRandomValues call per id costs more than the rest.
  const random = crypto.randomBytes(16 * count);
  return Array.from({ length: count }, (_, i): SeedUser => {
    const msecs = Math.floor(from + (i + Math.random()) * step);
    const id = uuidv7({ msecs, random: random.subarray(16 * i, 16 * i + 16) });
    const first = randomItem(FIRST_NAMES);
    const last = randomItem(LAST_NAMES);
    const roll = Math.random();
    return {
      id,
      name: `${first} ${last}`,
      // The random tail of the id keeps emails unique across runs without a lookup.
      email: `${first}.${last}.${id.slice(-12)}@example.com`.toLowerCase(),
      role: roll < 0.005 ? 'admin' : roll < 0.05 ? 'guest' : 'user',
      status: Math.random() < 0.1 ? 'suspended' : 'active',
      createdAt: new Date(msecs),
    };
  });
}

export interface SeedProgress {
  done: number;
  total: number;
}

export interface BulkSeedOptions {
  batchSize?: number;
  /** How far back created_at reaches; the rows are spread evenly up to now. */
  spanDays?: number;
  onProgress?: (progress: SeedProgress) => void;
}

/**
 * Inserts count rows in batches of batchSize, built by build(done, size) and written by insert;
 * returns how many rows were actually inserted. The next batch is built while the previous one
 * is in the database, so the two overlap.
 */
export async function insertInBatches<T>(
  count: number,
  batchSize: number,
  build: (done: number, size: number) => T[],
  insert: (rows: T[]) => Promise<number>,
  onProgress?: (progress: SeedProgress) => void,
): Promise<number> {
  let inserted = 0;
  let inFlight: Promise<number> = Promise.resolve(0);
  for (let done = 0; done < count;) {
    const size = Math.min(batchSize, count - done);
    const rows = build(done, size);
    inserted += await inFlight;
    if (done > 0) onProgress?.({ done, total: count });
    inFlight = insert(rows);
    done += size;
  }
  inserted += await inFlight;
  onProgress?.({ done: count, total: count });
  return inserted;
}

/** Inserts count random users in batches; returns how many rows were actually inserted. */
export async function seedUsers(
  db: Database,
  count: number,
  { batchSize = SEED_BATCH_SIZE, spanDays = 3 * 365, onProgress }: BulkSeedOptions = {},
): Promise<number> {
  const to = Date.now();
  const from = to - spanDays * DAY_MS;
  const slice = (to - from) / count;
  return insertInBatches(
    count,
    batchSize,
    (done, size) => {
      const batchFrom = from + done * slice;
      return randomUsers(size, batchFrom, batchFrom + size * slice);
    },
    (users) => insertUsers(db, users),
    onProgress,
  );
}

/** The demo users' password: printed by `npm run db:seed`, so a developer can sign in at once. */
export const DEMO_PASSWORD = 'stratum demo passphrase';

export interface DemoSeed {
  inserted: number;
  total: number;
  /** Who can sign in with DEMO_PASSWORD (none in production). */
  logins: { email: string; role: UserRole }[];
}

/**
 * The small data set a developer starts with. Outside production its users sign in with
 * DEMO_PASSWORD, and demo users an earlier seed left without a password get it; in production
 * there is no demo admin and no demo password (an admin comes from ADMIN_EMAIL or
 * `npm run user:create`), so the seed never leaves an admin anyone could guess or no one can use.
 */
export async function seedDemoData(
  db: Database,
  {
    production,
    hashPassword,
  }: { production: boolean; hashPassword: (p: string) => Promise<string> },
): Promise<DemoSeed> {
  const passwordHash = production ? null : await hashPassword(DEMO_PASSWORD);
  const users = demoUsers()
    .filter((user) => !production || user.role !== 'admin')
    .map((user) => ({ ...user, passwordHash }));
  const inserted = await insertUsers(db, users);
  if (passwordHash) {
    await sql`
      update users set password_hash = ${passwordHash}
      where email = any(${users.map((u) => u.email)}::text[]) and password_hash is null`.execute(
      db,
    );
  }
  const logins = passwordHash
    ? users
        .filter((u) => u.status === 'active' && u.role !== 'guest')
        .map(({ email, role }) => ({ email, role }))
    : [];
  return { inserted, total: users.length, logins };
}
