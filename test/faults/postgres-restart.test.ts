import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { assertLedgerInvariants } from '../support/ledger.js';
import { startService, waitUntilReady, type RunningService } from '../support/service-process.js';
import { sleep } from '../support/time.js';
import { dataOf, HttpClient, type Outcome } from './support/http-client.js';
import { startLoad, type Load } from './support/load.js';
import { bearer, login, signUp, type Member } from './support/members.js';
import { slowest, startedBetween, summarize, timeUntil } from './support/outcomes.js';
import { ADMIN, faultSkip, startStack, type FaultStack } from './support/stack.js';

/*
 * PostgreSQL crashes (immediate stop: backends killed mid-statement, mid-commit) under a load of
 * transfers, orders and reads, stays down a few seconds, and starts again. Clients retry a 503
 * with the same Idempotency-Key (and body), as the API tells them to. Transfers and orders go
 * through the group commit, so a crash can kill a batch of both mid-commit.
 */

const CONNECT_TIMEOUT_MS = 1_000;
// A transfer retried this long without an answer counts as lost.
const GIVE_UP_AFTER_MS = 40_000;

interface Wallet extends Member {
  walletId: string;
}

describe('PostgreSQL restarted during a load', { skip: faultSkip, timeout: 170_000 }, () => {
  let stack: FaultStack;
  let api: RunningService | undefined;
  let client: HttpClient | undefined;
  let load: Load | undefined;

  before(async () => {
    stack = await startStack({
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      RATE_LIMIT_MAX: '1000000',
    });
    api = await startService(stack.env, 90_000);
    await waitUntilReady(api.port, 60_000);
  });
  after(async () => {
    await load?.stop();
    client?.close();
    api?.kill();
    await stack?.close();
  });

  async function fundedWallets(http: HttpClient, count: number): Promise<Wallet[]> {
    const admin = await login(http, ADMIN.email, ADMIN.password);
    return Promise.all(
      Array.from({ length: count }, async () => {
        const member = await signUp(http);
        const accounts = await http.request('GET', `/api/v1/users/${member.id}/accounts`, {
          headers: bearer(member.token),
        });
        const walletId = dataOf<Array<{ id: string }>>(accounts)[0]!.id;
        const deposit = await http.request('POST', `/api/v1/accounts/${walletId}/deposits`, {
          headers: { ...bearer(admin.accessToken), 'idempotency-key': randomUUID() },
          body: { amount: 1_000_000, currency: 'USD' },
        });
        assert.equal(deposit.status, 201, JSON.stringify(deposit.body));
        return { ...member, walletId };
      }),
    );
  }

  /** The catalogue the orders buy from, created by the admin. */
  async function catalogue(http: HttpClient, count: number): Promise<string[]> {
    const admin = await login(http, ADMIN.email, ADMIN.password);
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const res = await http.request('POST', '/api/v1/products', {
          headers: bearer(admin.accessToken),
          body: { name: `Fault product ${i}`, priceMinor: 100 + i * 25, currency: 'USD' },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        return dataOf<{ id: string }>(res).id;
      }),
    );
  }

  /** One order under its own key, retried with that key and body while the answer is 503. */
  async function orderOnce(http: HttpClient, buyer: Wallet, products: string[], key: string) {
    const started = Date.now();
    const items = products
      .filter(() => Math.random() < 0.5)
      .concat(products[0]!)
      .filter((id, i, all) => all.indexOf(id) === i)
      .map((productId) => ({ productId, quantity: randomInt(1, 3) }));
    for (;;) {
      const res = await http.request('POST', `/api/v1/users/${buyer.id}/orders`, {
        headers: { ...bearer(buyer.token), 'idempotency-key': key },
        body: { items },
      });
      if (res.status !== 503 || Date.now() - started > GIVE_UP_AFTER_MS) return res;
      await sleep(100);
    }
  }

  /** One transfer under its own key, retried with that key while the answer is 503. */
  async function transferOnce(http: HttpClient, from: Wallet, to: Wallet, key: string) {
    const started = Date.now();
    for (;;) {
      const res = await http.request('POST', '/api/v1/transfers', {
        headers: { ...bearer(from.token), 'idempotency-key': key },
        body: {
          fromAccountId: from.walletId,
          toAccountId: to.walletId,
          amount: randomInt(1, 100),
          currency: 'USD',
          reference: key,
        },
      });
      if (res.status !== 503 || Date.now() - started > GIVE_UP_AFTER_MS) return res;
      await sleep(100);
    }
  }

  it('when PostgreSQL restarts, then requests fail fast with 503, readiness says so, the service recovers by itself and every transfer and order is applied exactly once', async (t: TestContext) => {
    const http = (client = new HttpClient(api!.port, 32));
    const wallets = await fundedWallets(http, 6);
    const products = await catalogue(http, 3);
    // A retry must send the same body: the amount is fixed per key on the first attempt.
    const finals = new Map<string, Outcome>();
    const orders = new Map<string, Outcome>();
    load = startLoad(10, 20, async (loop) => {
      if (loop >= 7) {
        // Buyers who also send and receive transfers: orders and transfers share wallets.
        const buyer = wallets[loop - 7]!;
        const key = randomUUID();
        orders.set(key, await orderOnce(http, buyer, products, key));
      } else if (loop < 4) {
        const from = wallets[loop]!;
        const to = wallets[(loop + 1) % wallets.length]!;
        const key = randomUUID();
        finals.set(key, await transferOnce(http, from, to, key));
      } else if (loop < 6) {
        const reader = wallets[loop]!;
        const path =
          loop === 4 ? `/api/v1/users/${reader.id}` : `/api/v1/users/${reader.id}/accounts`;
        await http.request('GET', path, { headers: bearer(reader.token) });
      } else {
        await http.request('GET', '/health/ready');
      }
    });

    await sleep(2_000);
    const downAt = Date.now();
    await stack.postgres.stop('immediate');
    await sleep(4_000);
    const upAt = Date.now();
    await stack.postgres.start();
    const startedAt = Date.now();
    const readyAfterMs = await timeUntil(
      async () => (await http.request('GET', '/health/ready')).status === 200,
      'readiness after PostgreSQL returns',
    );
    const transferAfterMs = await timeUntil(
      () => http.outcomes.some((o) => o.startedAt >= startedAt && o.status === 201),
      'a transfer after PostgreSQL returns',
    ).then(() =>
      Math.min(
        ...http.outcomes
          .filter((o) => o.startedAt >= startedAt && o.status === 201)
          .map((o) => o.startedAt + o.ms - startedAt),
      ),
    );
    await sleep(2_000);
    await load.stop();

    const outage = startedBetween(http.outcomes, downAt, startedAt);
    const all = startedBetween(http.outcomes, downAt - 2_000, Date.now());
    const readiness = outage.filter((o) => o.path === '/health/ready');
    t.diagnostic(`outage ${startedAt - downAt} ms (pg_ctl start took ${startedAt - upAt} ms)`);
    t.diagnostic(`during it: ${summarize(outage)}; slowest ${slowest(outage)} ms`);
    t.diagnostic(
      `after: ready in ${readyAfterMs} ms, first transfer in ${transferAfterMs} ms; ${finals.size} transfers, ${orders.size} orders`,
    );

    const unexpected = all.filter((o) => o.status >= 500 && o.status !== 503);
    assert.deepEqual(unexpected, [], 'no 5xx but 503');
    assert.deepEqual(
      all.filter((o) => o.status === 0),
      [],
      'every request answered',
    );
    assert.ok(
      slowest(outage) <= CONNECT_TIMEOUT_MS + 1_000,
      `no request slower than ${CONNECT_TIMEOUT_MS + 1_000} ms while PostgreSQL is down`,
    );
    assert.ok(
      outage.some((o) => o.status === 503),
      'the outage was seen as 503s',
    );
    assert.ok(
      readiness.some((o) => o.status === 503),
      'readiness said 503',
    );

    for (const [key, res] of finals)
      assert.equal(res.status, 201, `transfer ${key}: ${res.status}`);
    const { db } = stack.database();
    const rows = await db
      .selectFrom('journal_entries')
      .select(['id', 'reference'])
      .where('kind', '=', 'transfer')
      .execute();
    assert.equal(rows.length, finals.size, 'one journal row per key');
    for (const row of rows) {
      const res = finals.get(row.reference ?? '');
      assert.ok(res, `the row ${row.id} belongs to a key`);
      assert.equal(dataOf<{ id: string }>(res).id, row.id, 'the answer names the applied transfer');
    }

    for (const [key, res] of orders) assert.equal(res.status, 201, `order ${key}: ${res.status}`);
    const answered = new Map(
      [...orders.values()].map((res) => {
        const order = dataOf<{ id: string; paymentId: string; total: number }>(res);
        return [order.id, order];
      }),
    );
    assert.equal(answered.size, orders.size, 'each key answers its own order');
    const placed = await db
      .selectFrom('orders')
      .select(['id', 'status', 'payment_entry_id', 'total_minor'])
      .execute();
    assert.equal(placed.length, orders.size, 'one order row per key');
    const payments = await db
      .selectFrom('journal_entries')
      .select(['id', 'reference', 'amount_minor'])
      .where('kind', '=', 'payment')
      .execute();
    assert.equal(payments.length, orders.size, 'one payment per key');
    for (const row of placed) {
      const order = answered.get(row.id);
      assert.ok(order, `the order ${row.id} belongs to a key`);
      assert.equal(row.status, 'paid');
      assert.equal(row.payment_entry_id, order.paymentId, 'the answer names the applied payment');
      const payment = payments.find((p) => p.id === row.payment_entry_id);
      assert.equal(payment?.reference, `order ${row.id}`);
      assert.equal(Number(payment.amount_minor), order.total);
    }
    const emails = await db
      .selectFrom('outbox')
      .select('payload')
      .where('type', '=', 'email.order-confirmation')
      .execute();
    assert.deepEqual(
      emails.map((row) => (row.payload as { orderId: string }).orderId).sort(),
      [...answered.keys()].sort(),
      'one confirmation email per order',
    );
    await assertLedgerInvariants(db);
  });
});
