import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { HoldsRepository } from '../../src/modules/accounts/holds.repository.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { fixtures, type Fixtures } from '../support/fixtures.js';
import { assertLedgerInvariants, type AccountBody } from '../support/ledger.js';

interface HoldBody {
  id: string;
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
  status: string;
  capturedAmount: number | null;
  transferId: string | null;
  reference: string | null;
  expiresAt: string;
  createdAt: string;
}

interface ErrorBody {
  error: { code: string; details?: unknown };
}

for (const engine of engines) {
  describe(`holds on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    let admin: TestUser;
    let make: Fixtures;

    before(async () => {
      // The sweep runs only when a test asks for it (sweep()), so expiry is tested on its own.
      app = await startApp(engine, { env: { HOLD_SWEEP_INTERVAL_MS: '3600000' } });
      make = fixtures(app);
      admin = await make.admin();
    });
    after(() => app.close());

    const post = (user: TestUser, url: string, payload?: object, key?: string) =>
      app.server.inject({
        method: 'POST',
        url,
        headers: { ...bearer(user.accessToken), ...(key ? { 'idempotency-key': key } : {}) },
        ...(payload ? { payload } : {}),
      });
    const get = (user: TestUser, url: string) =>
      app.server.inject({ method: 'GET', url, headers: bearer(user.accessToken) });
    const account = async (user: TestUser, id: string) =>
      (await get(user, `/api/v1/accounts/${id}`)).json<{ data: AccountBody }>().data;

    /** A payer with `balance` in the wallet and a payee with an empty one. */
    async function parties(balance: number) {
      const payer = await make.user();
      const payee = await make.user();
      return {
        payer,
        payee,
        from: await make.fundedWallet(payer, balance),
        to: await make.fundedWallet(payee, 0),
      };
    }

    async function placeHold(
      p: { payer: TestUser; from: AccountBody; to: AccountBody },
      amount: number,
      hold: object = {},
    ) {
      const res = await post(
        p.payer,
        '/api/v1/transfers',
        { fromAccountId: p.from.id, toAccountId: p.to.id, amount, currency: 'USD', hold },
        randomUUID(),
      );
      assert.equal(res.statusCode, 201, res.body);
      return res;
    }
    const holdOf = async (p: Parameters<typeof placeHold>[0], amount: number, hold?: object) =>
      (await placeHold(p, amount, hold)).json<{ data: HoldBody }>().data;

    /** Puts the hold past its expiry, as the clock would. */
    const expire = (id: string) =>
      sql`UPDATE holds SET expires_at = now() - interval '1 second',
                           created_at = now() - interval '2 seconds'
           WHERE id = ${id}::uuid`.execute(app.database.db);
    const sweep = () => new HoldsRepository(app.database.db).expireDue(1000);

    it('when a transfer asks for a hold, then the amount is reserved, not moved, and the hold is readable', async () => {
      const p = await parties(10_000);
      const res = await placeHold(p, 2_500, { expiresIn: 3600 });
      const hold = res.json<{ data: HoldBody }>().data;
      assert.equal(res.headers.location, `/api/v1/holds/${hold.id}`);
      assert.equal(hold.status, 'pending');
      assert.equal(hold.capturedAmount, null);
      const lifetime = Date.parse(hold.expiresAt) - Date.parse(hold.createdAt);
      assert.equal(lifetime, 3_600_000);
      const from = await account(p.payer, p.from.id);
      assert.deepEqual([from.balance, from.held, from.available], [10_000, 2_500, 7_500]);
      assert.equal((await account(p.payee, p.to.id)).balance, 0);
      for (const user of [p.payer, p.payee, admin]) {
        const read = await get(user, `/api/v1/holds/${hold.id}`);
        assert.equal(read.statusCode, 200, read.body);
        assert.deepEqual(read.json<{ data: HoldBody }>().data, hold);
      }
      const stranger = await make.user();
      assert.equal((await get(stranger, `/api/v1/holds/${hold.id}`)).statusCode, 404);
      const list = await get(p.payee, `/api/v1/accounts/${p.to.id}/holds`);
      assert.equal(list.statusCode, 200, list.body);
      assert.deepEqual(
        list.json<{ data: HoldBody[] }>().data.map((h) => h.id),
        [hold.id],
      );
      await assertLedgerInvariants(app.database.db);
    });

    it('when no expiry is given, then the hold lasts one day', async () => {
      const hold = await holdOf(await parties(100), 100);
      assert.equal(Date.parse(hold.expiresAt) - Date.parse(hold.createdAt), 86_400_000);
    });

    it('when the payee captures part of a hold, then that part moves and the rest is released', async () => {
      const p = await parties(10_000);
      const hold = await holdOf(p, 3_000);
      const res = await post(p.payee, `/api/v1/holds/${hold.id}/capture`, { amount: 2_000 });
      assert.equal(res.statusCode, 200, res.body);
      const captured = res.json<{ data: HoldBody }>().data;
      assert.equal(captured.status, 'captured');
      assert.equal(captured.capturedAmount, 2_000);
      assert.ok(captured.transferId);
      const from = await account(p.payer, p.from.id);
      assert.deepEqual([from.balance, from.held, from.available], [8_000, 0, 8_000]);
      assert.equal((await account(p.payee, p.to.id)).balance, 2_000);
      const movement = await get(p.payer, `/api/v1/transfers/${captured.transferId}`);
      assert.equal(movement.statusCode, 200, movement.body);
      assert.equal(movement.json<{ data: { amount: number } }>().data.amount, 2_000);
      const again = await post(p.payee, `/api/v1/holds/${hold.id}/capture`, {});
      assert.equal(again.statusCode, 409);
      assert.equal(again.json<ErrorBody>().error.code, 'HOLD_NOT_PENDING');
      await assertLedgerInvariants(app.database.db);
    });

    it('when a capture names no amount, then all of the hold moves', async () => {
      const p = await parties(500);
      const hold = await holdOf(p, 500);
      const res = await post(p.payee, `/api/v1/holds/${hold.id}/capture`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<{ data: HoldBody }>().data.capturedAmount, 500);
      assert.equal((await account(p.payer, p.from.id)).balance, 0);
      assert.equal((await account(p.payee, p.to.id)).balance, 500);
    });

    it('when a hold is voided, then its funds are free again and it cannot be captured', async () => {
      const p = await parties(1_000);
      const hold = await holdOf(p, 1_000);
      const res = await post(p.payer, `/api/v1/holds/${hold.id}/void`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<{ data: HoldBody }>().data.status, 'voided');
      const from = await account(p.payer, p.from.id);
      assert.deepEqual([from.balance, from.held], [1_000, 0]);
      const capture = await post(p.payee, `/api/v1/holds/${hold.id}/capture`);
      assert.equal(capture.statusCode, 409);
      assert.deepEqual(capture.json<ErrorBody>().error, {
        code: 'HOLD_NOT_PENDING',
        message: 'The hold is already voided',
        details: { status: 'voided' },
      });
      const voidAgain = await post(p.payee, `/api/v1/holds/${hold.id}/void`);
      assert.equal(voidAgain.json<ErrorBody>().error.code, 'HOLD_NOT_PENDING');
      await assertLedgerInvariants(app.database.db);
    });

    it('when a hold has expired, then it reads expired, cannot be captured or voided, and the sweep releases it', async () => {
      const p = await parties(1_000);
      const hold = await holdOf(p, 600);
      await expire(hold.id);
      const read = await get(p.payer, `/api/v1/holds/${hold.id}`);
      assert.equal(read.json<{ data: HoldBody }>().data.status, 'expired');
      for (const [user, action] of [
        [p.payee, 'capture'],
        [p.payer, 'void'],
      ] as const) {
        const res = await post(user, `/api/v1/holds/${hold.id}/${action}`);
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(res.json<ErrorBody>().error.code, 'HOLD_EXPIRED');
      }
      // Until the sweep, the funds stay reserved (the bound is HOLD_SWEEP_INTERVAL_MS).
      assert.equal((await account(p.payer, p.from.id)).held, 600);
      assert.ok((await sweep()) >= 1);
      const from = await account(p.payer, p.from.id);
      assert.deepEqual([from.balance, from.held], [1_000, 0]);
      assert.equal(
        (await get(p.payer, `/api/v1/holds/${hold.id}`)).json<{ data: HoldBody }>().data.status,
        'expired',
      );
      assert.equal((await post(p.payee, `/api/v1/holds/${hold.id}/capture`)).statusCode, 409);
      await assertLedgerInvariants(app.database.db);
    });

    it('when funds are held, then a plain transfer and another hold can spend only what is available', async () => {
      const p = await parties(1_000);
      await holdOf(p, 700);
      const base = { fromAccountId: p.from.id, toAccountId: p.to.id, currency: 'USD' };
      const tooMuch = await post(
        p.payer,
        '/api/v1/transfers',
        { ...base, amount: 301 },
        randomUUID(),
      );
      assert.equal(tooMuch.statusCode, 422);
      assert.equal(tooMuch.json<ErrorBody>().error.code, 'INSUFFICIENT_FUNDS');
      const holdTooMuch = await post(
        p.payer,
        '/api/v1/transfers',
        { ...base, amount: 301, hold: {} },
        randomUUID(),
      );
      assert.equal(holdTooMuch.statusCode, 422);
      assert.equal(holdTooMuch.json<ErrorBody>().error.code, 'INSUFFICIENT_FUNDS');
      const fits = await post(p.payer, '/api/v1/transfers', { ...base, amount: 300 }, randomUUID());
      assert.equal(fits.statusCode, 201, fits.body);
      const from = await account(p.payer, p.from.id);
      assert.deepEqual([from.balance, from.held, from.available], [700, 700, 0]);
      await assertLedgerInvariants(app.database.db);
    });

    it('when a hold or a capture breaks a rule, then it gets the documented status and code', async () => {
      const p = await parties(1_000);
      const stranger = await make.user();
      const merchant = (await app.services.accounts.merchantHoldings('USD')).accounts[0]!;
      const base = { fromAccountId: p.from.id, toAccountId: p.to.id, currency: 'USD', amount: 10 };
      const place = (user: TestUser, body: object) =>
        post(user, '/api/v1/transfers', { ...base, hold: {}, ...body }, randomUUID());
      const refused: [string, Awaited<ReturnType<typeof place>>, number, string][] = [
        ['expiresIn 0', await place(p.payer, { hold: { expiresIn: 0 } }), 400, 'VALIDATION_ERROR'],
        [
          'expiresIn over a week',
          await place(p.payer, { hold: { expiresIn: 604_801 } }),
          400,
          'VALIDATION_ERROR',
        ],
        ['unknown hold field', await place(p.payer, { hold: { x: 1 } }), 400, 'VALIDATION_ERROR'],
        ["a stranger's wallet", await place(stranger, {}), 404, 'ACCOUNT_NOT_FOUND'],
        [
          'to a system account',
          await place(p.payer, { toAccountId: merchant.id }),
          422,
          'INVALID_DESTINATION',
        ],
        ['currency', await place(p.payer, { currency: 'EUR' }), 422, 'CURRENCY_MISMATCH'],
        ['same account', await place(p.payer, { toAccountId: p.from.id }), 400, 'VALIDATION_ERROR'],
      ];
      for (const [name, res, status, code] of refused) {
        assert.equal(res.statusCode, status, `${name}: ${res.body}`);
        assert.equal(res.json<ErrorBody>().error.code, code, name);
      }
      const hold = await holdOf(p, 100);
      const capture = (user: TestUser, body?: object) =>
        post(user, `/api/v1/holds/${hold.id}/capture`, body);
      const cases: [string, Awaited<ReturnType<typeof capture>>, number, string][] = [
        ['by the payer', await capture(p.payer), 403, 'FORBIDDEN'],
        ['by a stranger', await capture(stranger), 404, 'NOT_FOUND'],
        ['more than held', await capture(p.payee, { amount: 101 }), 422, 'CAPTURE_EXCEEDS_HOLD'],
        ['zero', await capture(p.payee, { amount: 0 }), 400, 'VALIDATION_ERROR'],
        [
          'void by a stranger',
          await post(stranger, `/api/v1/holds/${hold.id}/void`),
          404,
          'NOT_FOUND',
        ],
        [
          'an unknown hold',
          await post(p.payee, `/api/v1/holds/${randomUUID()}/capture`),
          404,
          'NOT_FOUND',
        ],
      ];
      for (const [name, res, status, code] of cases) {
        assert.equal(res.statusCode, status, `${name}: ${res.body}`);
        assert.equal(res.json<ErrorBody>().error.code, code, name);
      }
      const guest = await app.server.inject({
        method: 'POST',
        url: `/api/v1/holds/${hold.id}/void`,
      });
      assert.equal(guest.statusCode, 401);
      assert.equal((await account(p.payer, p.from.id)).held, 100, 'nothing changed');
      // An admin captures anyone's hold.
      const byAdmin = await capture(admin, { amount: 40 });
      assert.equal(byAdmin.statusCode, 200, byAdmin.body);
      await assertLedgerInvariants(app.database.db);
    });

    it('when a capture or a void repeats its Idempotency-Key, then the first response is replayed; another body is 422', async () => {
      const p = await parties(1_000);
      const hold = await holdOf(p, 400);
      const key = randomUUID();
      const first = await post(p.payee, `/api/v1/holds/${hold.id}/capture`, { amount: 150 }, key);
      assert.equal(first.statusCode, 200, first.body);
      const again = await post(p.payee, `/api/v1/holds/${hold.id}/capture`, { amount: 150 }, key);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.deepEqual(again.json<{ data: unknown }>().data, first.json<{ data: unknown }>().data);
      const other = await post(p.payee, `/api/v1/holds/${hold.id}/capture`, { amount: 151 }, key);
      assert.equal(other.statusCode, 422);
      assert.equal(other.json<ErrorBody>().error.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal((await account(p.payee, p.to.id)).balance, 150);

      const second = await holdOf(p, 100);
      const voidKey = randomUUID();
      const voided = await post(p.payer, `/api/v1/holds/${second.id}/void`, undefined, voidKey);
      assert.equal(voided.statusCode, 200, voided.body);
      const replay = await post(p.payer, `/api/v1/holds/${second.id}/void`, undefined, voidKey);
      assert.equal(replay.statusCode, 200);
      assert.equal(replay.headers['idempotent-replayed'], 'true');

      // Placing: the same key and body replays the hold; as a plain transfer it is 422.
      const placeKey = randomUUID();
      const body = { fromAccountId: p.from.id, toAccountId: p.to.id, amount: 5, currency: 'USD' };
      const placed = await post(p.payer, '/api/v1/transfers', { ...body, hold: {} }, placeKey);
      const replayed = await post(p.payer, '/api/v1/transfers', { ...body, hold: {} }, placeKey);
      assert.equal(replayed.headers['idempotent-replayed'], 'true');
      assert.equal(replayed.headers.location, placed.headers.location);
      const plain = await post(p.payer, '/api/v1/transfers', body, placeKey);
      assert.equal(plain.json<ErrorBody>().error.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal((await account(p.payer, p.from.id)).held, 5);
      await assertLedgerInvariants(app.database.db);
    });

    it('when an UPDATE would make balance minus held negative, then the database refuses it', async () => {
      const p = await parties(100);
      await holdOf(p, 80);
      await assert.rejects(
        sql`UPDATE accounts SET balance_minor = 79 WHERE id = ${p.from.id}::uuid`.execute(
          app.database.db,
        ),
        (err: { code?: string; constraint?: string }) =>
          err.code === '23514' && err.constraint === 'accounts_available_non_negative',
      );
      await assert.rejects(
        sql`UPDATE accounts SET held_minor = 101 WHERE id = ${p.from.id}::uuid`.execute(
          app.database.db,
        ),
        (err: { code?: string }) => err.code === '23514',
      );
      await assert.rejects(
        sql`UPDATE holds SET status = 'captured', captured_minor = 81, transfer_id = NULL
             WHERE from_account_id = ${p.from.id}::uuid`.execute(app.database.db),
        (err: { code?: string }) => err.code === '23514',
      );
      const from = await account(p.payer, p.from.id);
      assert.deepEqual([from.balance, from.held], [100, 80]);
    });
  });
}

describe('the hold sweep in a running app', () => {
  const engine = engines.find((e) => e.name === 'pglite')!;
  let app: StartedApp;

  before(async () => {
    app = await startApp(engine, { env: { HOLD_SWEEP_INTERVAL_MS: '100' } });
  });
  after(() => app.close());

  it('when a hold expires, then the app releases its funds on its own', async () => {
    const make = fixtures(app);
    const payer = await make.user();
    const from = await make.fundedWallet(payer, 300);
    const to = await make.fundedWallet(await make.user(), 0);
    const placed = await app.server.inject({
      method: 'POST',
      url: '/api/v1/transfers',
      headers: { ...bearer(payer.accessToken), 'idempotency-key': randomUUID() },
      payload: {
        fromAccountId: from.id,
        toAccountId: to.id,
        amount: 300,
        currency: 'USD',
        hold: {},
      },
    });
    assert.equal(placed.statusCode, 201, placed.body);
    const id = placed.json<{ data: HoldBody }>().data.id;
    await sql`UPDATE holds SET expires_at = now(), created_at = now() - interval '1 second'
               WHERE id = ${id}::uuid`.execute(app.database.db);
    let status = 'pending';
    // Until the sweep's next rounds have run; a sweep that never runs fails here.
    for (let round = 0; round < 200 && status !== 'expired'; round++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const { rows } = await sql<{ status: string }>`
        SELECT status FROM holds WHERE id = ${id}::uuid`.execute(app.database.db);
      status = rows[0]!.status;
    }
    assert.equal(status, 'expired');
    const wallet = await app.server.inject({
      method: 'GET',
      url: `/api/v1/accounts/${from.id}`,
      headers: bearer(payer.accessToken),
    });
    const account = wallet.json<{ data: AccountBody }>().data;
    assert.deepEqual([account.balance, account.held, account.available], [300, 0, 300]);
    await assertLedgerInvariants(app.database.db);
  });
});
