import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startApp, type StartedApp } from '../support/app.js';
import type { TestUser } from '../support/auth.js';
import { fixtures } from '../support/fixtures.js';
import { engines } from '../support/databases.js';
import { RaceGate } from '../support/overlap.js';
import { assertLedgerInvariants } from '../support/ledger.js';

const postgres = engines.find((e) => e.name === 'postgres')!;

/** Runs the tasks with at most `limit` in flight. */
async function inParallel<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

describe('concurrent money movements over HTTP on PostgreSQL', { skip: postgres.skip }, () => {
  let app: StartedApp;
  let base: string;
  // Counts the money requests in flight at once: the races below must really overlap.
  const transfers = new RaceGate((req) => req.url === '/api/v1/transfers');
  const orderRequests = new RaceGate((req) =>
    /^\/api\/v1\/(users\/[^/]+\/orders|orders\/[^/]+\/cancel)$/.test(req.url),
  );

  before(async () => {
    app = await startApp(postgres, {
      beforeReady: (server) => {
        transfers.install(server);
        orderRequests.install(server);
      },
    });
    base = await app.server.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => app.close());

  it('when hundreds of transfers race among a few wallets, then no money is made, lost or moved twice', async () => {
    const make = fixtures(app);
    const people: { user: TestUser; wallet: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const user = await make.user();
      people.push({ user, wallet: (await make.fundedWallet(user, 10_000)).id });
    }
    // Half the transfers go back along the pair of the one before: opposite directions between
    // the same two rows are what deadlocks without a fixed lock order.
    const plans = Array.from({ length: 400 }, (_, i) => {
      const a = randomInt(people.length);
      const b = (a + 1 + randomInt(people.length - 1)) % people.length;
      const [from, to] = i % 2 ? [people[b]!, people[a]!] : [people[a]!, people[b]!];
      return { from, to, amount: randomInt(1, 3_000), key: randomUUID() };
    });

    const outcomes = await inParallel(
      plans.map((plan) => async () => {
        // A client retries a 503 with the same key, as the Retry-After header invites.
        for (let attempt = 1; ; attempt++) {
          const res = await fetch(`${base}/api/v1/transfers`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${plan.from.user.accessToken}`,
              'content-type': 'application/json',
              'idempotency-key': plan.key,
            },
            body: JSON.stringify({
              fromAccountId: plan.from.wallet,
              toAccountId: plan.to.wallet,
              amount: plan.amount,
              currency: 'USD',
            }),
          });
          const body = (await res.json()) as { data?: { id: string }; error?: { code: string } };
          if (res.status !== 503 || attempt === 5) return { status: res.status, body };
        }
      }),
      40,
    );

    for (const { status, body } of outcomes) {
      const allowed =
        status === 201 ||
        (status === 422 && body.error?.code === 'INSUFFICIENT_FUNDS') ||
        status === 503;
      assert.ok(allowed, `unexpected ${status} ${JSON.stringify(body)}`);
    }
    assert.ok(transfers.maxInFlight >= 10, `transfers in flight at once: ${transfers.maxInFlight}`);
    const accepted = outcomes.filter((o) => o.status === 201).map((o) => o.body.data!.id);
    assert.ok(accepted.length > 200, `most transfers go through (${accepted.length})`);
    assert.equal(new Set(accepted).size, accepted.length);

    const journal = await sql<{ id: string }>`
      SELECT id FROM journal_entries WHERE kind = 'transfer'`.execute(app.database.db);
    assert.deepEqual(
      journal.rows.map((r) => r.id).sort(),
      [...accepted].sort(),
      'every accepted transfer is in the journal exactly once, and nothing else is',
    );
    await assertLedgerInvariants(app.database.db);
    const total = await sql<{ total: string }>`
      SELECT sum(balance_minor)::text AS total FROM accounts WHERE kind = 'wallet'`.execute(
      app.database.db,
    );
    assert.equal(
      total.rows[0]?.total,
      String(5 * 10_000),
      'the wallets still hold what was deposited',
    );
  });

  it('when many users order and cancel at once, then every order is paid or refused cleanly and the ledger balances', async () => {
    const make = fixtures(app);
    const product = await make.product({ name: 'Busy', priceMinor: 700 });
    const buyers: TestUser[] = [];
    for (let i = 0; i < 8; i++) {
      const user = await make.user();
      await make.fundedWallet(user, 5_000);
      buyers.push(user);
    }
    const post = async (user: TestUser, path: string, body?: object) => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${user.accessToken}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as { data?: { id: string } } };
    };
    // Each buyer orders more than its wallet allows, so some orders fail; every third paid one
    // is cancelled right away, racing the others' payments on the merchant's row.
    const outcomes = await inParallel(
      Array.from({ length: 80 }, (_, i) => async () => {
        const buyer = buyers[i % buyers.length]!;
        const placed = await post(buyer, `/api/v1/users/${buyer.id}/orders`, {
          items: [{ productId: product.id, quantity: 1 + (i % 2) }],
        });
        if (placed.status === 201 && i % 3 === 0) {
          const cancelled = await post(buyer, `/api/v1/orders/${placed.body.data!.id}/cancel`);
          return [placed.status, cancelled.status];
        }
        return [placed.status];
      }),
      20,
    );
    for (const statuses of outcomes) {
      for (const status of statuses) assert.ok([200, 201, 402].includes(status), String(status));
    }
    assert.ok(
      orderRequests.maxInFlight >= 10,
      `orders and cancels in flight at once: ${orderRequests.maxInFlight}`,
    );
    assert.ok(
      outcomes.some(([s]) => s === 402),
      'some buyers ran out of money',
    );
    await assertLedgerInvariants(app.database.db);
    const orders = await sql<{ status: string; n: number }>`
      SELECT status, count(*)::int AS n FROM orders GROUP BY status`.execute(app.database.db);
    const byStatus = Object.fromEntries(orders.rows.map((r) => [r.status, r.n]));
    assert.equal(byStatus.pending, undefined, 'no order is left pending');
    const payments = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM journal_entries WHERE kind = 'payment'`.execute(
      app.database.db,
    );
    assert.equal(payments.rows[0]?.n, (byStatus.paid ?? 0) + (byStatus.cancelled ?? 0));
  });
});
