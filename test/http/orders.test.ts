import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { MERCHANT_SHARDS } from '../../src/modules/accounts/accounts.service.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { outboxSettled, RecordingMailer } from '../support/jobs.js';
import { fixtures, type Fixtures } from '../support/fixtures.js';
import { assertLedgerInvariants, walletOf } from '../support/ledger.js';

interface OrderBody {
  id: string;
  userId: string;
  status: string;
  items: {
    productId: string;
    name: string;
    unitPrice: number;
    quantity: number;
    lineTotal: number;
  }[];
  total: number;
  currency: string;
  paymentId: string | null;
  refundId: string | null;
}

interface ErrorBody {
  error: { code: string; details?: { orderId?: string } };
}

for (const engine of engines) {
  describe(`orders on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    let admin: TestUser;
    let make: Fixtures;
    const mailer = new RecordingMailer();

    before(async () => {
      app = await startApp(engine, { mailer, env: { OUTBOX_POLL_MS: '50' } });
      make = fixtures(app);
      admin = await make.admin();
    });
    after(() => app.close());

    const adminActor = () => ({ userId: admin.id, role: 'admin' as const });
    const product = (priceMinor: number, name = 'Kettle') => make.product({ priceMinor, name });
    const order = (user: TestUser, items: object[], key?: string, forUser = user.id) =>
      app.server.inject({
        method: 'POST',
        url: `/api/v1/users/${forUser}/orders`,
        headers: { ...bearer(user.accessToken), ...(key ? { 'idempotency-key': key } : {}) },
        payload: { items },
      });
    const cancel = (user: TestUser, id: string) =>
      app.server.inject({
        method: 'POST',
        url: `/api/v1/orders/${id}/cancel`,
        headers: bearer(user.accessToken),
      });
    const balance = async (user: TestUser) => (await walletOf(app.server, user)).balance;

    async function customer(funds: number) {
      const user = await make.user();
      await make.fundedWallet(user, funds);
      return user;
    }

    it('when a user orders, then the total comes from catalogue prices and the wallet pays the merchant', async () => {
      const kettle = await product(3_500, 'Kettle');
      const mug = await product(799, 'Mug');
      const user = await customer(10_000);
      const merchant = await app.services.accounts.merchantHoldings('USD');
      const res = await order(user, [
        { productId: kettle.id, quantity: 1 },
        { productId: mug.id, quantity: 3 },
      ]);
      assert.equal(res.statusCode, 201, res.body);
      const placed = res.json<{ data: OrderBody }>().data;
      assert.equal(res.headers.location, `/api/v1/orders/${placed.id}`);
      assert.equal(placed.status, 'paid');
      assert.equal(placed.total, 3_500 + 3 * 799);
      assert.deepEqual(
        placed.items.map((i) => [i.name, i.unitPrice, i.quantity, i.lineTotal]),
        [
          ['Kettle', 3_500, 1, 3_500],
          ['Mug', 799, 3, 2_397],
        ],
      );
      assert.ok(placed.paymentId);
      assert.equal(await balance(user), 10_000 - placed.total);
      const after = await app.services.accounts.merchantHoldings('USD');
      assert.equal(after.balance - merchant.balance, placed.total);

      // A later price change doesn't rewrite what was bought.
      await app.services.products.updateProduct(adminActor(), kettle.id, { priceMinor: 9_999 });
      const read = await app.server.inject({
        method: 'GET',
        url: `/api/v1/orders/${placed.id}`,
        headers: bearer(user.accessToken),
      });
      assert.equal(read.json<{ data: OrderBody }>().data.items[0]?.unitPrice, 3_500);
      await assertLedgerInvariants(app.database.db);
    });

    it('when a client sends its own price, then the order is refused', async () => {
      const kettle = await product(3_500);
      const user = await customer(10_000);
      const res = await order(user, [{ productId: kettle.id, quantity: 1, unitPrice: 1 }]);
      assert.equal(res.statusCode, 400);
      assert.equal(await balance(user), 10_000);
    });

    it('when the wallet lacks the funds, then the order is kept as payment_failed, nothing moves and it is 402', async () => {
      const kettle = await product(3_500);
      const user = await customer(1_000);
      mailer.reset();
      const res = await order(user, [{ productId: kettle.id, quantity: 1 }]);
      assert.equal(res.statusCode, 402, res.body);
      const body = res.json<ErrorBody>();
      assert.equal(body.error.code, 'INSUFFICIENT_FUNDS');
      const orderId = body.error.details?.orderId;
      assert.ok(orderId);
      const read = await app.server.inject({
        method: 'GET',
        url: `/api/v1/orders/${orderId}`,
        headers: bearer(user.accessToken),
      });
      assert.equal(read.json<{ data: OrderBody }>().data.status, 'payment_failed');
      assert.equal(read.json<{ data: OrderBody }>().data.paymentId, null);
      assert.equal(await balance(user), 1_000);
      // No outbox row names the order, so no confirmation can ever be sent for it.
      assert.deepEqual(await outboxSettled(app.database.db, orderId), []);
      assert.equal(mailer.sent.filter((m) => m.subject.includes(orderId)).length, 0);
      assert.equal((await cancel(user, orderId)).statusCode, 409);
    });

    it('when an order is paid, then exactly one confirmation email goes out', async () => {
      const kettle = await product(1_250);
      const user = await customer(5_000);
      const res = await order(user, [{ productId: kettle.id, quantity: 2 }]);
      const placed = res.json<{ data: OrderBody }>().data;
      const mine = () => mailer.sent.filter((m) => m.subject.includes(placed.id));
      // One row for the order, sent: nothing is left that could send a second email.
      const rows = await outboxSettled(app.database.db, placed.id);
      assert.equal(rows.length, 1);
      assert.ok(rows[0]!.sent_at);
      assert.equal(mine().length, 1);
      const [mail] = mine();
      assert.equal(mail?.to, user.email);
      assert.match(mail?.text ?? '', /Total: 25\.00 USD/);
    });

    it('when a paid order is cancelled, then it is refunded once, however many cancels race', async () => {
      const kettle = await product(2_000);
      const user = await customer(2_000);
      const placed = (await order(user, [{ productId: kettle.id, quantity: 1 }])).json<{
        data: OrderBody;
      }>().data;
      assert.equal(await balance(user), 0);
      const results = await Promise.all(Array.from({ length: 8 }, () => cancel(user, placed.id)));
      const statuses = results.map((r) => r.statusCode).sort();
      assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
      const done = results.find((r) => r.statusCode === 200)!.json<{ data: OrderBody }>().data;
      assert.equal(done.status, 'cancelled');
      assert.ok(done.refundId);
      assert.equal(await balance(user), 2_000);
      const refunds = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM journal_entries
         WHERE kind = 'refund' AND reference = ${`refund of order ${placed.id}`}`.execute(
        app.database.db,
      );
      assert.equal(refunds.rows[0]?.n, 1);
      await assertLedgerInvariants(app.database.db);
    });

    it('when orders pay the merchant, then they spread over its rows and a refund debits the row its payment credited', async () => {
      const { accounts } = await app.services.accounts.merchantHoldings('USD');
      assert.equal(accounts.length, MERCHANT_SHARDS);
      const cup = await product(100);
      const user = await customer(1_200);
      const placed = [];
      for (let i = 0; i < 12; i++) {
        const res = await order(user, [{ productId: cup.id, quantity: 1 }]);
        placed.push(res.json<{ data: OrderBody }>().data);
      }
      const payees = await sql<{ to_account_id: string }>`
        SELECT to_account_id FROM journal_entries
         WHERE id IN (${sql.join(placed.map((o) => o.paymentId))})`.execute(app.database.db);
      // 12 orders on one of 16 rows each: all on one row has a chance of 16^-11.
      assert.ok(new Set(payees.rows.map((r) => r.to_account_id)).size > 1);
      const first = placed[0]!;
      assert.equal((await cancel(user, first.id)).statusCode, 200);
      const entries = await sql<{ kind: string; account: string }>`
        SELECT kind, CASE kind WHEN 'payment' THEN to_account_id ELSE from_account_id END AS account
          FROM journal_entries
         WHERE reference IN (${`order ${first.id}`}, ${`refund of order ${first.id}`})`.execute(
        app.database.db,
      );
      assert.equal(entries.rows.length, 2);
      assert.equal(entries.rows[0]!.account, entries.rows[1]!.account);
      await assertLedgerInvariants(app.database.db);
    });

    it('when an order is sent again with its key, then the first response comes back and it is placed once', async () => {
      const kettle = await product(500);
      const user = await customer(5_000);
      const key = randomUUID();
      const items = [{ productId: kettle.id, quantity: 1 }];
      const responses = await Promise.all(Array.from({ length: 6 }, () => order(user, items, key)));
      const ok = responses.filter((r) => r.statusCode === 201);
      assert.ok(ok.length >= 1);
      for (const res of responses) assert.ok([201, 409].includes(res.statusCode), res.body);
      for (const res of ok) assert.deepEqual(res.json(), ok[0]!.json());
      assert.equal(await balance(user), 4_500);
      const other = await order(user, [{ productId: kettle.id, quantity: 2 }], key);
      assert.equal(other.statusCode, 422);
      assert.equal(other.json<ErrorBody>().error.code, 'IDEMPOTENCY_KEY_REUSED');
    });

    it('when a payment failed under a key, then repeating it replays the 402 and does not charge', async () => {
      const kettle = await product(5_000);
      const user = await customer(100);
      const key = randomUUID();
      const first = await order(user, [{ productId: kettle.id, quantity: 1 }], key);
      assert.equal(first.statusCode, 402);
      await make.fundedWallet(user, 10_000);
      const again = await order(user, [{ productId: kettle.id, quantity: 1 }], key);
      assert.equal(again.statusCode, 402);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(await balance(user), 10_100);
    });

    it('when products are unknown, inactive or repeated, then the order is refused and nothing moves', async () => {
      const kettle = await product(100);
      const gone = await product(100);
      await app.services.products.deactivateProduct(adminActor(), gone.id);
      const user = await customer(1_000);
      const unknown = await order(user, [{ productId: randomUUID(), quantity: 1 }]);
      assert.equal(unknown.statusCode, 422);
      assert.equal(unknown.json<ErrorBody>().error.code, 'PRODUCT_UNAVAILABLE');
      const inactive = await order(user, [{ productId: gone.id, quantity: 1 }]);
      assert.equal(inactive.json<ErrorBody>().error.code, 'PRODUCT_UNAVAILABLE');
      const twice = await order(user, [
        { productId: kettle.id, quantity: 1 },
        { productId: kettle.id, quantity: 2 },
      ]);
      assert.equal(twice.statusCode, 400);
      for (const items of [
        [],
        [{ productId: kettle.id, quantity: 0 }],
        [{ productId: kettle.id, quantity: 1001 }],
      ]) {
        assert.equal((await order(user, items)).statusCode, 400, JSON.stringify(items));
      }
      assert.equal(await balance(user), 1_000);
    });

    it("when someone orders for or reads another user's orders, then it is 404 unless they are an admin", async () => {
      const kettle = await product(100);
      const alice = await customer(1_000);
      const bob = await customer(1_000);
      assert.equal(
        (await order(bob, [{ productId: kettle.id, quantity: 1 }], undefined, alice.id)).statusCode,
        404,
      );
      const byAdmin = await order(
        admin,
        [{ productId: kettle.id, quantity: 1 }],
        undefined,
        alice.id,
      );
      assert.equal(byAdmin.statusCode, 201, byAdmin.body);
      const second = await order(alice, [{ productId: kettle.id, quantity: 2 }]);
      const id = byAdmin.json<{ data: OrderBody }>().data.id;
      const read = (user: TestUser, url: string) =>
        app.server.inject({ method: 'GET', url, headers: bearer(user.accessToken) });
      assert.equal((await read(bob, `/api/v1/orders/${id}`)).statusCode, 404);
      assert.equal((await read(bob, `/api/v1/users/${alice.id}/orders`)).statusCode, 404);
      assert.equal((await cancel(bob, id)).statusCode, 404);
      const list = await read(alice, `/api/v1/users/${alice.id}/orders`);
      assert.equal(list.statusCode, 200);
      assert.deepEqual(
        list.json<{ data: OrderBody[] }>().data.map((o) => o.id),
        [second.json<{ data: OrderBody }>().data.id, id],
        'newest first',
      );
    });
  });
}
