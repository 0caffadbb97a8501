import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { Argon2PasswordHasher } from '../../src/platform/auth/passwords.js';
import { AccessTokens } from '../../src/platform/auth/tokens.js';
import type { Database } from '../../src/platform/db/database.js';
import type { UserRole } from '../../src/platform/db/schema.js';

/** Users the scenarios sign in as, created in the bench database with a known password. */

export const BENCH_PASSWORD = 'bench password, not a secret';

export async function createBenchUser(db: Database, role: UserRole) {
  const user = { id: uuidv7(), email: `bench-${role}-${randomUUID()}@example.com`, role };
  await db
    .insertInto('users')
    .values({
      ...user,
      name: `Bench ${role}`,
      status: 'active',
      password_hash: await new Argon2PasswordHasher().hash(BENCH_PASSWORD),
      // Made by the operator running the bench: verified, so it may move money.
      email_verified_at: new Date(),
    })
    .execute();
  return user;
}

/** A valid access token for a bench user, signed with the run's key as Stratum would sign it. */
export async function accessTokenFor(
  user: { id: string; email: string; role: UserRole },
  jwtSecret: string,
) {
  const tokens = new AccessTokens({
    secret: new TextEncoder().encode(jwtSecret),
    algorithm: 'HS256',
    issuer: 'stratum',
    audience: 'stratum-api',
    // The servers' JWT_ACCESS_TTL (BENCH_ACCESS_TTL): a token may live no longer than that.
    accessTtlMs: 3_600_000,
  });
  return (await tokens.sign({ ...user, emailVerified: true }, randomUUID())).token;
}

export async function sampleUserIds(db: Database, count: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select id from users order by random() limit ${count}`.execute(db);
  if (rows.length === 0) throw new Error('the users table is empty');
  return rows.map((r) => r.id);
}
