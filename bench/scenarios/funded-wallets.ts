import { randomUUID } from 'node:crypto';
import { expectApi, inBatches } from '../lib/api.js';
import { accessTokenFor, createBenchUser } from './bench-users.js';
import type { ScenarioContext } from './scenario.js';

/** Seeded users with money in their wallets, for the scenarios that move it. */

/** Stratum's DEFAULT_CURRENCY, which the bench leaves unset. */
export const CURRENCY = 'USD';
/** Minor units a wallet holds at least before the load: far more than a run spends. */
const FLOOR = 10_000_000_000;
const SET_UP_CONCURRENCY = 10;

export interface BenchWallet {
  accountId: string;
  userId: string;
  /** The owner's access token. */
  token: string;
}

/** An admin's access token, for set-up through the API (deposits, products). */
export async function adminToken({ db, jwtSecret }: ScenarioContext): Promise<string> {
  return accessTokenFor(await createBenchUser(db, 'admin'), jwtSecret);
}

/**
 * `count` random active users' wallets (opened by Stratum at start-up for the seeded users),
 * topped up to at least FLOOR by deposits through the API as an admin: a deposit is a
 * movement from the issuer, so the ledger still sums to zero.
 */
export async function fundedWallets(
  context: ScenarioContext,
  count: number,
): Promise<BenchWallet[]> {
  const rows = await context.db
    .selectFrom('accounts')
    .innerJoin('users', 'users.id', 'accounts.user_id')
    .select(['accounts.id as accountId', 'accounts.balance_minor as balance', 'users.id', 'email'])
    .where('accounts.kind', '=', 'wallet')
    .where('accounts.currency', '=', CURRENCY)
    .where('users.role', '=', 'user')
    .where('users.status', '=', 'active')
    .orderBy((eb) => eb.fn('random'))
    .limit(count)
    .execute();
  if (rows.length < count) {
    throw new Error(`only ${rows.length} active users with a ${CURRENCY} wallet; need ${count}`);
  }
  const admin = await adminToken(context);
  const poor = rows.filter((row) => Number(row.balance) < FLOOR);
  await inBatches(poor, SET_UP_CONCURRENCY, (row) =>
    expectApi(201, context.stratumUrl, 'POST', `/api/v1/accounts/${row.accountId}/deposits`, {
      token: admin,
      headers: { 'idempotency-key': randomUUID() },
      body: { amount: FLOOR, currency: CURRENCY, reference: 'bench funding' },
    }),
  );
  return Promise.all(
    rows.map(async (row) => ({
      accountId: row.accountId,
      userId: row.id,
      token: await accessTokenFor(
        { id: row.id, email: row.email, role: 'user' },
        context.jwtSecret,
      ),
    })),
  );
}

/** Two different wallets, uniformly at random: the pair a transfer moves money between. */
export function randomPair<T>(items: readonly T[]): [T, T] {
  const first = Math.floor(Math.random() * items.length);
  let second = Math.floor(Math.random() * (items.length - 1));
  if (second >= first) second++;
  return [items[first]!, items[second]!];
}

export function randomItem<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
