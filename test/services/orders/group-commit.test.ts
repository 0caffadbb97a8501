import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import type { Transfer } from '../../../src/modules/accounts/accounts.repository.js';
import { AccountsService } from '../../../src/modules/accounts/accounts.service.js';
import { OrdersRepository, type Order } from '../../../src/modules/orders/orders.repository.js';
import { OrdersService } from '../../../src/modules/orders/orders.service.js';
import type { Actor } from '../../../src/platform/auth/actor.js';
import type { Database } from '../../../src/platform/db/database.js';
import { isForeignKeyViolation } from '../../../src/platform/db/errors.js';
import { AppError } from '../../../src/platform/errors.js';
import {
  IdempotencyKeys,
  IdempotentReplay,
} from '../../../src/platform/idempotency/idempotency.js';
import { IdempotencyKeysRepository } from '../../../src/platform/idempotency/keys.repository.js';
import { OutboxScheduler } from '../../../src/platform/jobs/outbox.js';
import { OutboxRepository } from '../../../src/platform/jobs/outbox.repository.js';
import { startApp, type StartedApp } from '../../support/app.js';
import { engines } from '../../support/databases.js';
import { assertLedgerInvariants } from '../../support/ledger.js';
import { RecordingRepository } from '../../support/recording-accounts.js';

/*
 * Orders in the group commit, mixed with transfers and deposits on the same wallets: every
 * answer is the one a serial order of the committed statements gives (the batches' order, and
 * within a batch the arrival order), and the ledger's invariants hold.
 */

interface Product {
  id: string;
  price: number;
  active: boolean;
  currency: string;
}

interface Key {
  ownerId: string;
  key: string;
  fingerprint: string;
}

type Op =
  | {
      ref: string;
      kind: 'order';
      actor: Actor;
      wallet: string;
      items: { productId: string; quantity: number }[];
      key: Key;
    }
  | {
      ref: string;
      kind: 'transfer' | 'deposit';
      actor: Actor;
      from: string;
      to: string;
      amount: number;
      key: Key;
    };

type Answer =
  { order: Order } | { moved: Transfer } | { replayed: unknown } | { code: string; status: number };

/** What the routes store under a key: a paid order's 201, a refused one's 402. */
const renderOrder = (order: Order) => ({
  statusCode: order.status === 'paid' ? 201 : 402,
  headers: {},
  body: { data: { id: order.id, status: order.status, total: order.total } },
});
const renderTransfer = (transfer: Transfer) => ({
  statusCode: 201,
  headers: {},
  body: { data: { id: transfer.id, amount: transfer.amount } },
});

const settings = [
  { max: 16, waitUs: 0 },
  { max: 1, waitUs: 0 },
  { max: 8, waitUs: 300 },
];

/** Both services of one "process": its own batcher over the shared database. */
function servicesOver(app: StartedApp, db: Database, batch: { max: number; waitUs: number }) {
  const repo = new RecordingRepository(db);
  const accounts = new AccountsService(db, repo, 'USD', false, batch);
  const orders = new OrdersService(
    db,
    new OrdersRepository(db),
    accounts,
    app.services.products,
    app.services.users,
    new OutboxScheduler(new OutboxRepository(db)),
  );
  return { repo, accounts, orders };
}

for (const [engine, batch] of engines.flatMap((e) => settings.map((c) => [e, c] as const))) {
  describe(
    `orders with transfers in batches of up to ${batch.max} (waiting ${batch.waitUs} µs) on ${engine.name}`,
    { skip: engine.skip },
    () => {
      let app: StartedApp;
      let db: Database;
      let ours: ReturnType<typeof servicesOver>;
      let keys: IdempotencyKeys;
      const users: { actor: Actor; wallet: string }[] = [];
      const products: Product[] = [];
      const admin: Actor = { userId: uuidv7(), role: 'admin' };
      let issuer: string;

      before(async () => {
        app = await startApp(engine);
        db = app.database.db;
        for (let i = 0; i < 5; i++) {
          const id = uuidv7();
          await db
            .insertInto('users')
            .values({
              id,
              name: `O${i}`,
              email: `o-${randomUUID()}@example.com`,
              role: 'user',
              status: 'active',
            })
            .execute();
          users.push({ actor: { userId: id, role: 'user' }, wallet: '' });
        }
        await db
          .insertInto('users')
          .values({
            id: admin.userId!,
            name: 'A',
            email: `a-${randomUUID()}@example.com`,
            role: 'admin',
            status: 'active',
          })
          .execute();
        const catalogue: Omit<Product, 'id'>[] = [
          { price: 150, active: true, currency: 'USD' },
          { price: 700, active: true, currency: 'USD' },
          { price: 2_500, active: true, currency: 'USD' },
          { price: 0, active: true, currency: 'USD' },
          { price: 300, active: false, currency: 'USD' },
          { price: 400, active: true, currency: 'EUR' },
        ];
        for (const [i, p] of catalogue.entries()) {
          const id = uuidv7();
          await db
            .insertInto('products')
            .values({
              id,
              name: `P${i}`,
              price_minor: p.price,
              currency: p.currency,
              active: p.active,
            })
            .execute();
          products.push({ id, ...p });
        }
        ours = servicesOver(app, db, batch);
        keys = new IdempotencyKeys(new IdempotencyKeysRepository(db), 86_400_000);
        await ours.accounts.ensureLedger();
        for (const user of users) {
          user.wallet = (await ours.accounts.walletOf(user.actor.userId!))!.id;
        }
        issuer = (
          await db
            .selectFrom('accounts')
            .select('id')
            .where('kind', '=', 'issuer')
            .where('currency', '=', 'USD')
            .executeTakeFirstOrThrow()
        ).id;
      });
      after(() => app.close());

      function key(actor: Actor): Key {
        return { ownerId: actor.userId!, key: randomUUID(), fingerprint: randomUUID() };
      }

      function randomItems(): { productId: string; quantity: number }[] {
        const roll = randomInt(100);
        // An unknown product, an inactive one, one in another currency: refused before paying.
        if (roll < 6) return [{ productId: randomUUID(), quantity: 1 }];
        if (roll < 10) return [{ productId: products[4]!.id, quantity: 1 }];
        if (roll < 14) return [{ productId: products[5]!.id, quantity: 2 }];
        const usable = products.slice(0, 4);
        const count = 1 + randomInt(3);
        const picked = new Set<Product>();
        while (picked.size < count) picked.add(usable[randomInt(usable.length)]!);
        return [...picked].map((p) => ({ productId: p.id, quantity: 1 + randomInt(3) }));
      }

      /** Orders (some overdrawing, some refused by the catalogue), transfers, deposits, twins. */
      function randomOps(count: number): Op[] {
        const ops: Op[] = [];
        for (let i = 0; i < count; i++) {
          const ref = `op-${randomUUID()}`;
          const payer = users[randomInt(users.length)]!;
          const other = users.filter((u) => u !== payer)[randomInt(users.length - 1)]!;
          const roll = randomInt(100);
          let op: Op;
          if (roll < 12) {
            op = {
              ref,
              kind: 'deposit',
              actor: admin,
              from: issuer,
              to: payer.wallet,
              amount: randomInt(1, 6_000),
              key: key(admin),
            };
          } else if (roll < 32) {
            op = {
              ref,
              kind: 'transfer',
              actor: payer.actor,
              from: payer.wallet,
              to: other.wallet,
              amount: randomInt(1, 4_000),
              key: key(payer.actor),
            };
          } else if (roll < 44 && ops.length > 0) {
            // A twin of an earlier op under its key: the same request again, or another body.
            const twin = ops[randomInt(ops.length)]!;
            op =
              roll < 38
                ? { ...twin, ref }
                : twin.kind === 'order'
                  ? { ...twin, ref, items: randomItems(), key: { ...twin.key, fingerprint: ref } }
                  : { ...twin, ref, key: { ...twin.key, fingerprint: ref } };
          } else {
            op = {
              ref,
              kind: 'order',
              actor: payer.actor,
              wallet: payer.wallet,
              items: randomItems(),
              key: key(payer.actor),
            };
          }
          ops.push(op);
        }
        return ops;
      }

      async function answer(op: Op): Promise<Answer> {
        try {
          if (op.kind === 'order') {
            const claim = keys.open<Order>(op.key, op.key.fingerprint, renderOrder);
            const input = { items: op.items };
            return {
              order: await ours.orders.placeOrder(op.actor, op.actor.userId!, input, claim),
            };
          }
          const claim = keys.open<Transfer>(op.key, op.key.fingerprint, renderTransfer);
          const moved =
            op.kind === 'deposit'
              ? await ours.accounts.deposit(
                  op.actor,
                  op.to,
                  { amount: op.amount, currency: 'USD', reference: op.ref },
                  claim,
                )
              : await ours.accounts.transfer(
                  op.actor,
                  {
                    fromAccountId: op.from,
                    toAccountId: op.to,
                    amount: op.amount,
                    currency: 'USD',
                    reference: op.ref,
                  },
                  claim,
                );
          return { moved };
        } catch (err) {
          if (err instanceof IdempotentReplay) return { replayed: err.response.body };
          if (err instanceof AppError) return { code: err.code, status: err.statusCode };
          throw err;
        }
      }

      /** The catalogue's refusal of an order's items, before any payment, or its total. */
      function priced(items: { productId: string; quantity: number }[]) {
        const found = items.map((item) => products.find((p) => p.id === item.productId));
        if (found.some((p) => !p?.active)) return { code: 'PRODUCT_UNAVAILABLE' };
        if (found.some((p) => p!.currency !== 'USD')) return { code: 'CURRENCY_MISMATCH' };
        return {
          total: items.reduce((sum, item, i) => sum + found[i]!.price * item.quantity, 0),
        };
      }

      async function balancesNow() {
        const rows = await db.selectFrom('accounts').select(['id', 'balance_minor']).execute();
        return new Map(rows.map((row) => [row.id, Number(row.balance_minor)]));
      }

      /**
       * Runs the ops all at once, then replays the committed statements serially in their commit
       * order (within a batch, its order) and checks every answer against that, and what the
       * tables hold: the orders, their emails, the balances.
       */
      async function runRound(count: number) {
        const balances = await balancesNow();
        const start = ours.repo.log.length;
        const ops = randomOps(count);
        const answers = await Promise.all(ops.map(answer));
        const log = ours.repo.log.slice(start);
        const byRef = new Map<string, { op: Op; answer: Answer }>();
        ops.forEach((op, i) => {
          const a = answers[i]!;
          // An order's payment is referenced by the order's id, which only its answer knows.
          const ref = op.kind === 'order' && 'order' in a ? `order ${a.order.id}` : op.ref;
          byRef.set(ref, { op, answer: a });
        });
        const seen = new Set<string>();
        const stored = new Map<string, { fingerprint: string; body: unknown }>();
        const paid = new Set<string>();
        const failed = new Set<string>();
        for (const { movement, outcome } of log) {
          const entry = byRef.get(movement.reference!);
          assert.ok(entry, `${movement.reference} is one of the ops`);
          assert.ok(!seen.has(movement.reference!), 'no op committed twice');
          seen.add(movement.reference!);
          const { op, answer } = entry;
          // Single statements run side by side and may be logged out of commit order: each is
          // checked against the balance its statement locked.
          const saw = new Map(balances);
          if (batch.max === 1 && outcome.from) saw.set(outcome.from.id, outcome.from.balance);
          const k = `${op.key.ownerId}/${op.key.key}`;
          if (op.kind === 'order') {
            const { total, code } = priced(op.items);
            assert.equal(code, undefined, `${op.ref} was priced`);
            const moves = saw.get(op.wallet)! >= total;
            assert.equal(outcome.moved, moves, `${op.ref}: ${total} from ${saw.get(op.wallet)}`);
            assert.ok('order' in answer, `${op.ref} answers its order: ${JSON.stringify(answer)}`);
            assert.equal(answer.order.status, moves ? 'paid' : 'payment_failed');
            assert.equal(answer.order.total, total);
            assert.equal(movement.amount, total);
            if (moves) {
              balances.set(op.wallet, balances.get(op.wallet)! - total);
              balances.set(movement.toAccountId, balances.get(movement.toAccountId)! + total);
              paid.add(answer.order.id);
            } else failed.add(answer.order.id);
            assert.ok(!stored.has(k), 'a key stores one response');
            stored.set(k, {
              fingerprint: op.key.fingerprint,
              body: renderOrder(answer.order).body,
            });
            continue;
          }
          const from = saw.get(op.from)!;
          const moves = op.kind === 'deposit' || from >= op.amount;
          assert.equal(outcome.moved, moves, `${op.ref}: ${op.amount} from ${from}`);
          if (moves) {
            balances.set(op.from, balances.get(op.from)! - op.amount);
            balances.set(op.to, balances.get(op.to)! + op.amount);
            assert.ok('moved' in answer, `${op.ref} moved: ${JSON.stringify(answer)}`);
            assert.equal(answer.moved.id, movement.id);
            assert.ok(!stored.has(k), 'a key stores one response');
            stored.set(k, {
              fingerprint: op.key.fingerprint,
              body: renderTransfer(answer.moved).body,
            });
          } else if (
            !('replayed' in answer) &&
            !('code' in answer && answer.code === 'IDEMPOTENCY_KEY_REUSED')
          ) {
            assert.ok('code' in answer, `${op.ref} was refused: ${JSON.stringify(answer)}`);
            assert.equal(answer.code, 'INSUFFICIENT_FUNDS');
          }
        }
        for (const [ref, { op, answer }] of byRef) {
          if (seen.has(ref)) continue;
          const twin = stored.get(`${op.key.ownerId}/${op.key.key}`);
          if ('replayed' in answer) {
            assert.ok(twin, `${op.ref} replayed a key that holds a response`);
            assert.equal(twin.fingerprint, op.key.fingerprint);
            assert.deepEqual(answer.replayed, twin.body);
          } else if ('code' in answer && answer.code === 'IDEMPOTENCY_KEY_REUSED') {
            assert.ok(twin, `${op.ref} refused for a key that holds a response`);
            assert.notEqual(twin.fingerprint, op.key.fingerprint);
          } else {
            // Without a statement: only the catalogue refuses an op (or a transfer refused by a
            // single statement that the log holds under its own ref).
            assert.equal(op.kind, 'order', `${op.ref} answered ${JSON.stringify(answer)} unlogged`);
            assert.deepEqual(answer, {
              code: priced(op.items).code,
              status: 422,
            });
          }
        }
        assert.deepEqual(await balancesNow(), balances, 'the balances are the serial order’s');
        const orderRows = await db
          .selectFrom('orders')
          .select(['id', 'status', 'payment_entry_id'])
          .where('id', 'in', [...paid, ...failed, uuidv7()])
          .execute();
        assert.equal(orderRows.length, paid.size + failed.size, 'one row per committed order');
        for (const row of orderRows) {
          assert.equal(row.status, paid.has(row.id) ? 'paid' : 'payment_failed');
        }
        const emails = await db
          .selectFrom('outbox')
          .select('payload')
          .where('type', '=', 'email.order-confirmation')
          .execute();
        const emailed = emails
          .map((row) => (row.payload as { orderId: string }).orderId)
          .filter((id) => paid.has(id) || failed.has(id));
        assert.deepEqual(emailed.sort(), [...paid].sort(), 'one email per paid order, none else');
        await assertLedgerInvariants(db);
      }

      it('when random orders race with transfers on the same wallets, then every answer is that of a serial order and the ledger holds', async () => {
        const rounds = engine.name === 'postgres' && batch.waitUs === 0 ? 15 : 5;
        const batchesBefore = ours.repo.batches;
        for (let round = 0; round < rounds; round++) await runRound(40);
        if (batch.max > 1) assert.ok(ours.repo.batches > batchesBefore, 'orders were batched');
        else assert.equal(ours.repo.batches, 0, 'each order is its own statement');
      });

      // The first order goes alone and is held there only when batches don't wait.
      const itHeldFirst =
        batch.max > 1 && batch.waitUs === 0 ? it : ((() => undefined) as unknown as typeof it);
      itHeldFirst(
        "when a batch fails on one order's row (its product deleted since it was priced), then the batch runs again one by one and only that order fails",
        async () => {
          const [a, b, c] = users;
          for (const user of [a!, b!, c!]) {
            await ours.accounts.deposit(admin, user.wallet, { amount: 10_000, currency: 'USD' });
          }
          const [gone] = await db
            .insertInto('products')
            .values({ id: uuidv7(), name: 'Gone', price_minor: 100, currency: 'USD' })
            .returning('id')
            .execute();
          const order = (user: (typeof users)[number], productId: string) =>
            ours.orders.placeOrder(user.actor, user.actor.userId!, {
              items: [{ productId, quantity: 1 }],
            });
          // Warm: the users and wallets are read once, so the next orders queue as soon as priced.
          await Promise.all([a!, b!, c!].map((user) => order(user, products[0]!.id)));
          const before = await balancesNow();
          let release!: () => void;
          ours.repo.hold = new Promise<void>((resolve) => (release = resolve));
          const first = order(a!, products[0]!.id);
          // The first order is the one held, before the others arrive.
          const turn = () => new Promise((resolve) => setImmediate(resolve));
          while (!ours.repo.holding) await turn();
          const sizes: number[] = [];
          ours.repo.onBatch = async (members) => {
            sizes.push(members.length);
            await db.deleteFrom('products').where('id', '=', gone!.id).execute();
          };
          const fine = order(b!, products[1]!.id);
          const broken = order(c!, gone!.id).then(
            () => 'placed',
            (err: unknown) => (isForeignKeyViolation(err) ? 'foreign key' : String(err)),
          );
          // Both queued behind the held order before it is let go.
          while (ours.accounts.waitingMovements < 2) await turn();
          release();
          try {
            assert.equal((await first).status, 'paid');
            assert.equal((await fine).status, 'paid');
            assert.equal(await broken, 'foreign key');
          } finally {
            ours.repo.onBatch = undefined;
          }
          assert.deepEqual(sizes, [2], 'the two orders were one batch');
          const after = await balancesNow();
          assert.equal(
            after.get(c!.wallet),
            before.get(c!.wallet),
            'the failed order paid nothing',
          );
          assert.equal(after.get(b!.wallet), before.get(b!.wallet)! - products[1]!.price);
          const left = await db
            .selectFrom('order_items')
            .select('order_id')
            .where('product_id', '=', gone!.id)
            .execute();
          assert.deepEqual(left, [], 'no line of the failed order');
          await assertLedgerInvariants(db);
        },
      );

      // Two processes: two batchers whose batches run side by side on the same wallets, meeting
      // on row locks (taken in id order, so they never deadlock).
      const itServer =
        engine.name === 'postgres' ? it : ((() => undefined) as unknown as typeof it);
      itServer(
        'when two processes batch orders and transfers on the same wallets at once, then the ledger holds and each answer fits the balance its statement saw',
        async () => {
          const theirs = servicesOver(app, db, batch);
          const before = await balancesNow();
          const start = { ours: ours.repo.log.length, theirs: theirs.repo.log.length };
          for (const user of users) {
            await ours.accounts.deposit(admin, user.wallet, { amount: 20_000, currency: 'USD' });
          }
          const ops = randomOps(160).filter((op) => op.kind !== 'deposit');
          const results = await Promise.all(
            ops.map(async (op, i) => {
              const side = i % 2 === 0 ? ours : theirs;
              if (op.kind !== 'order') {
                return side.accounts
                  .transfer(op.actor, {
                    fromAccountId: op.from,
                    toAccountId: op.to,
                    amount: op.amount,
                    currency: 'USD',
                  })
                  .then(
                    () => 'moved',
                    (err: unknown) => (err instanceof AppError ? err.code : String(err)),
                  );
              }
              return side.orders.placeOrder(op.actor, op.actor.userId!, { items: op.items }).then(
                (order) => order.status,
                (err: unknown) => (err instanceof AppError ? err.code : String(err)),
              );
            }),
          );
          const allowed = new Set([
            'moved',
            'paid',
            'payment_failed',
            'INSUFFICIENT_FUNDS',
            'PRODUCT_UNAVAILABLE',
            'CURRENCY_MISMATCH',
          ]);
          assert.deepEqual(
            results.filter((r) => !allowed.has(r)),
            [],
            'no deadlock or other failure reaches a caller',
          );
          const log = [...ours.repo.log.slice(start.ours), ...theirs.repo.log.slice(start.theirs)];
          let moved = 0;
          for (const { movement, outcome } of log) {
            if (movement.kind === 'deposit') continue;
            assert.equal(outcome.moved, outcome.from!.balance >= movement.amount, movement.id);
            if (outcome.moved) moved++;
          }
          assert.equal(
            moved,
            results.filter((r) => r === 'moved' || r === 'paid').length,
            'every 201 moved once',
          );
          assert.ok(theirs.repo.batches + ours.repo.batches > 0 || batch.max === 1);
          const after = await balancesNow();
          const total = (m: Map<string, number>) => [...m.values()].reduce((s, b) => s + b, 0);
          assert.equal(total(after), total(before), 'no money made or lost');
          await assertLedgerInvariants(db);
        },
      );
    },
  );
}
