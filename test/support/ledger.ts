import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Database } from '../../src/platform/db/database.js';
import { bearer, type TestUser } from './auth.js';

export interface AccountBody {
  id: string;
  kind: string;
  userId: string | null;
  currency: string;
  balance: number;
  held: number;
  available: number;
}

/** The user's wallet, read over HTTP like a client would. */
export async function walletOf(server: FastifyInstance, user: TestUser): Promise<AccountBody> {
  const res = await server.inject({
    method: 'GET',
    url: `/api/v1/users/${user.id}/accounts`,
    headers: bearer(user.accessToken),
  });
  assert.equal(res.statusCode, 200, res.body);
  const [wallet] = res.json<{ data: AccountBody[] }>().data;
  assert.ok(wallet, 'every user has a wallet');
  return wallet;
}

export async function deposit(
  server: FastifyInstance,
  admin: TestUser,
  accountId: string,
  amount: number,
) {
  const res = await server.inject({
    method: 'POST',
    url: `/api/v1/accounts/${accountId}/deposits`,
    headers: { ...bearer(admin.accessToken), 'idempotency-key': randomUUID() },
    payload: { amount, currency: 'USD' },
  });
  assert.equal(res.statusCode, 201, res.body);
}

/**
 * The ledger's invariants, straight from the tables: per currency the balances sum to zero, no
 * account but the issuer is negative, every balance equals what its journal rows moved, and
 * every account's held amount is what its pending holds reserve, never more than its balance.
 */
export async function assertLedgerInvariants(db: Database) {
  const sums = await sql<{ currency: string; total: string }>`
    SELECT currency, sum(balance_minor)::text AS total FROM accounts GROUP BY currency`.execute(db);
  for (const row of sums.rows) assert.equal(row.total, '0', `sum of ${row.currency} balances`);
  const negative = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM accounts WHERE kind <> 'issuer' AND balance_minor < 0`.execute(
    db,
  );
  assert.equal(negative.rows[0]?.n, 0, 'no account but the issuer is below zero');
  const drift = await sql<{ id: string }>`
    SELECT a.id FROM accounts a
     WHERE a.balance_minor <>
           coalesce((SELECT sum(amount_minor) FROM journal_entries WHERE to_account_id = a.id), 0)
         - coalesce((SELECT sum(amount_minor) FROM journal_entries WHERE from_account_id = a.id), 0)
  `.execute(db);
  assert.deepEqual(drift.rows, [], 'every balance equals the sum of its journal rows');
  const heldDrift = await sql<{ id: string }>`
    SELECT a.id FROM accounts a
     WHERE a.held_minor <> coalesce((SELECT sum(amount_minor) FROM holds
                                      WHERE from_account_id = a.id AND status = 'pending'), 0)
        OR (a.kind <> 'issuer' AND a.balance_minor - a.held_minor < 0)
  `.execute(db);
  assert.deepEqual(
    heldDrift.rows,
    [],
    "every account's held is the sum of its pending holds, and within its balance",
  );
}
