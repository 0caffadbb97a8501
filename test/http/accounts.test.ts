import { sql } from 'kysely';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, type TestUser } from '../support/auth.js';
import { fixtures, type Fixtures } from '../support/fixtures.js';
import { RaceGate } from '../support/overlap.js';
import { engines } from '../support/databases.js';
import { assertLedgerInvariants, deposit, type AccountBody } from '../support/ledger.js';

interface ErrorBody {
  error: { code: string };
}

interface EntryBody {
  kind: string;
  direction: string;
  amount: number;
  balanceAfter: number;
}

interface TransferBody {
  id: string;
  kind: string;
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
  reference: string | null;
}

for (const engine of engines) {
  describe(`accounts and transfers on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    let admin: TestUser;
    let make: Fixtures;
    const transfers = new RaceGate((req) => req.url === '/api/v1/transfers');

    before(async () => {
      app = await startApp(engine, { beforeReady: transfers.install });
      make = fixtures(app);
      admin = await make.admin();
    });
    after(() => app.close());

    const transfer = (user: TestUser, payload: object, key: string | null = randomUUID()) =>
      app.server.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers: { ...bearer(user.accessToken), ...(key ? { 'idempotency-key': key } : {}) },
        payload,
      });
    /** `count` copies of one transfer, all in flight together before any is answered. */
    async function sameTransferAtOnce(user: TestUser, payload: object, key: string, count: number) {
      transfers.hold(count);
      const responses = await Promise.all(
        Array.from({ length: count }, () => transfer(user, payload, key)),
      );
      assert.equal(transfers.maxInFlight, count, `all ${count} were in flight at once`);
      return responses;
    }
    const account = (user: TestUser, id: string) =>
      app.server.inject({
        method: 'GET',
        url: `/api/v1/accounts/${id}`,
        headers: bearer(user.accessToken),
      });

    const balance = async (user: TestUser, id: string) =>
      (await account(user, id)).json<{ data: AccountBody }>().data.balance;

    /** A user whose wallet holds `balance` (deposited by the admin). */
    async function funded(balance: number) {
      const user = await make.user();
      return { user, wallet: await make.fundedWallet(user, balance) };
    }

    it('when a user registers, then they get an empty wallet in the default currency', async () => {
      const res = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          name: 'Reg',
          email: `r-${randomUUID()}@example.com`,
          password: 'long enough pw',
        },
      });
      assert.equal(res.statusCode, 201, res.body);
      const id = res.json<{ data: { id: string } }>().data.id;
      const accounts = await app.server.inject({
        method: 'GET',
        url: `/api/v1/users/${id}/accounts`,
        headers: bearer(admin.accessToken),
      });
      assert.equal(accounts.statusCode, 200);
      const [wallet] = accounts.json<{ data: AccountBody[] }>().data;
      assert.deepEqual(
        { kind: wallet?.kind, userId: wallet?.userId, currency: wallet?.currency },
        { kind: 'wallet', userId: id, currency: 'USD' },
      );
      assert.equal(wallet?.balance, 0);
    });

    it('when money moves between wallets, then both balances and both statements show it', async () => {
      const a = await funded(10_000);
      const b = await funded(0);
      const res = await transfer(a.user, {
        fromAccountId: a.wallet.id,
        toAccountId: b.wallet.id,
        amount: 2_550,
        currency: 'USD',
        reference: 'dinner',
      });
      assert.equal(res.statusCode, 201, res.body);
      const moved = res.json<{ data: TransferBody }>().data;
      assert.equal(res.headers.location, `/api/v1/transfers/${moved.id}`);
      assert.equal(moved.kind, 'transfer');
      assert.equal(await balance(a.user, a.wallet.id), 7_450);
      assert.equal(await balance(b.user, b.wallet.id), 2_550);

      const statement = await app.server.inject({
        method: 'GET',
        url: `/api/v1/accounts/${a.wallet.id}/transactions`,
        headers: bearer(a.user.accessToken),
      });
      assert.equal(statement.statusCode, 200);
      const body = statement.json<{ data: EntryBody[]; meta: { totalCount: number } }>();
      assert.equal(body.meta.totalCount, 2);
      assert.deepEqual(
        body.data.map(
          (e: { kind: string; direction: string; amount: number; balanceAfter: number }) => [
            e.kind,
            e.direction,
            e.amount,
            e.balanceAfter,
          ],
        ),
        [
          ['transfer', 'debit', 2_550, 7_450],
          ['deposit', 'credit', 10_000, 10_000],
        ],
      );
      const read = await app.server.inject({
        method: 'GET',
        url: `/api/v1/transfers/${moved.id}`,
        headers: bearer(b.user.accessToken),
      });
      assert.equal(read.statusCode, 200);
      assert.equal(read.json<{ data: TransferBody }>().data.reference, 'dinner');
      await assertLedgerInvariants(app.database.db);
    });

    it('when a transfer breaks a rule, then it gets the documented status and code and nothing moves', async () => {
      const a = await funded(1_000);
      const b = await funded(0);
      const other = await funded(500);
      const base = { fromAccountId: a.wallet.id, toAccountId: b.wallet.id, currency: 'USD' };
      const merchant = (await app.services.accounts.merchantHoldings('USD')).accounts[0];
      const cases: [string, TestUser, object, number, string][] = [
        [
          'same account',
          a.user,
          { ...base, toAccountId: a.wallet.id, amount: 1 },
          400,
          'VALIDATION_ERROR',
        ],
        [
          'unknown destination',
          a.user,
          { ...base, toAccountId: randomUUID(), amount: 1 },
          404,
          'ACCOUNT_NOT_FOUND',
        ],
        [
          'unknown source',
          a.user,
          { ...base, fromAccountId: randomUUID(), amount: 1 },
          404,
          'ACCOUNT_NOT_FOUND',
        ],
        ["someone else's source", other.user, { ...base, amount: 1 }, 404, 'ACCOUNT_NOT_FOUND'],
        [
          'currency mismatch',
          a.user,
          { ...base, currency: 'EUR', amount: 1 },
          422,
          'CURRENCY_MISMATCH',
        ],
        ['insufficient funds', a.user, { ...base, amount: 1_001 }, 422, 'INSUFFICIENT_FUNDS'],
        [
          'to a system account',
          a.user,
          { ...base, toAccountId: merchant!.id, amount: 1 },
          422,
          'INVALID_DESTINATION',
        ],
        ['zero', a.user, { ...base, amount: 0 }, 400, 'VALIDATION_ERROR'],
        ['negative', a.user, { ...base, amount: -5 }, 400, 'VALIDATION_ERROR'],
        ['fractional', a.user, { ...base, amount: 1.5 }, 400, 'VALIDATION_ERROR'],
        ['amount as a string', a.user, { ...base, amount: '10' }, 400, 'VALIDATION_ERROR'],
        ['amount null', a.user, { ...base, amount: null }, 400, 'VALIDATION_ERROR'],
        ['absurd', a.user, { ...base, amount: 1e15 }, 400, 'VALIDATION_ERROR'],
        [
          'lower-case currency',
          a.user,
          { ...base, currency: 'usd', amount: 1 },
          400,
          'VALIDATION_ERROR',
        ],
        ['unknown field', a.user, { ...base, amount: 1, fee: 0 }, 400, 'VALIDATION_ERROR'],
      ];
      for (const [name, user, payload, status, code] of cases) {
        const res = await transfer(user, payload);
        assert.equal(res.statusCode, status, `${name}: ${res.body}`);
        assert.equal(res.json<ErrorBody>().error.code, code, name);
      }
      const noKey = await transfer(a.user, { ...base, amount: 1 }, null);
      assert.equal(noKey.statusCode, 400, 'the Idempotency-Key is required');
      const guest = await app.server.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers: { 'idempotency-key': randomUUID() },
        payload: { ...base, amount: 1 },
      });
      assert.equal(guest.statusCode, 401);
      assert.equal(await balance(a.user, a.wallet.id), 1_000);
      assert.equal(await balance(b.user, b.wallet.id), 0);
    });

    it('when someone reads an account that is not theirs, then it is 404 unless they may read accounts', async () => {
      const a = await funded(0);
      const b = await funded(0);
      assert.equal((await account(b.user, a.wallet.id)).statusCode, 404);
      assert.equal((await account(admin, a.wallet.id)).statusCode, 200);
      const list = await app.server.inject({
        method: 'GET',
        url: `/api/v1/users/${a.user.id}/accounts`,
        headers: bearer(b.user.accessToken),
      });
      assert.equal(list.statusCode, 404);
      const statement = await app.server.inject({
        method: 'GET',
        url: `/api/v1/accounts/${a.wallet.id}/transactions`,
        headers: bearer(b.user.accessToken),
      });
      assert.equal(statement.statusCode, 404);
    });

    it('when a user who is not an admin deposits, then it is 403 and nothing moves', async () => {
      const a = await funded(0);
      const res = await app.server.inject({
        method: 'POST',
        url: `/api/v1/accounts/${a.wallet.id}/deposits`,
        headers: bearer(a.user.accessToken),
        payload: { amount: 100, currency: 'USD' },
      });
      assert.equal(res.statusCode, 403);
      assert.equal(await balance(a.user, a.wallet.id), 0);
    });

    it('when a transfer is repeated with its key, then the first response comes back and money moves once', async () => {
      const a = await funded(1_000);
      const b = await funded(0);
      const key = randomUUID();
      const payload = {
        fromAccountId: a.wallet.id,
        toAccountId: b.wallet.id,
        amount: 100,
        currency: 'USD',
      };
      const first = await transfer(a.user, payload, key);
      const again = await transfer(a.user, { ...payload }, key);
      assert.equal(first.statusCode, 201);
      assert.equal(again.statusCode, 201);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.headers.location, first.headers.location);
      assert.deepEqual(again.json(), first.json());
      assert.equal(await balance(a.user, a.wallet.id), 900);

      const reused = await transfer(a.user, { ...payload, amount: 101 }, key);
      assert.equal(reused.statusCode, 422);
      assert.equal(reused.json<ErrorBody>().error.code, 'IDEMPOTENCY_KEY_REUSED');
      // Keys belong to their caller: another user's key of the same value is another key.
      const c = await funded(100);
      const theirs = await transfer(
        c.user,
        { fromAccountId: c.wallet.id, toAccountId: b.wallet.id, amount: 100, currency: 'USD' },
        key,
      );
      assert.equal(theirs.statusCode, 201);
      assert.equal(await balance(b.user, b.wallet.id), 200);
    });

    it('when a refused transfer is retried with its key after a deposit, then it goes through', async () => {
      const a = await funded(0);
      const b = await funded(0);
      const key = randomUUID();
      const payload = {
        fromAccountId: a.wallet.id,
        toAccountId: b.wallet.id,
        amount: 50,
        currency: 'USD',
      };
      assert.equal((await transfer(a.user, payload, key)).statusCode, 422);
      await deposit(app.server, admin, a.wallet.id, 50);
      assert.equal((await transfer(a.user, payload, key)).statusCode, 201);
    });

    it('when one idempotent request arrives many times at once, then it has one effect and identical responses', async () => {
      const a = await funded(1_000);
      const b = await funded(0);
      const key = randomUUID();
      const payload = {
        fromAccountId: a.wallet.id,
        toAccountId: b.wallet.id,
        amount: 10,
        currency: 'USD',
      };
      const responses = await sameTransferAtOnce(a.user, payload, key, 20);
      for (const res of responses) {
        assert.ok([201, 409].includes(res.statusCode), res.body);
      }
      const done = responses.filter((r) => r.statusCode === 201);
      assert.ok(done.length >= 1);
      for (const res of done) assert.deepEqual(res.json(), done[0]!.json());
      assert.equal(await balance(a.user, a.wallet.id), 990);
      assert.equal(await balance(b.user, b.wallet.id), 10);
      await assertLedgerInvariants(app.database.db);
    });

    it('when duplicates of a transfer of the whole balance arrive at once, then they replay its 201 rather than refuse a second debit', async () => {
      const a = await funded(100);
      const b = await funded(0);
      const key = randomUUID();
      const payload = {
        fromAccountId: a.wallet.id,
        toAccountId: b.wallet.id,
        amount: 100,
        currency: 'USD',
      };
      const responses = await sameTransferAtOnce(a.user, payload, key, 10);
      for (const res of responses) assert.ok([201, 409].includes(res.statusCode), res.body);
      const done = responses.filter((r) => r.statusCode === 201);
      for (const res of done) assert.deepEqual(res.json(), done[0]!.json());
      assert.equal(await balance(a.user, a.wallet.id), 0);
      assert.equal(await balance(b.user, b.wallet.id), 100);
    });

    it('when a key has expired, then it is free for a new request', async () => {
      const a = await funded(300);
      const b = await funded(0);
      const key = randomUUID();
      const payload = {
        fromAccountId: a.wallet.id,
        toAccountId: b.wallet.id,
        amount: 100,
        currency: 'USD',
      };
      assert.equal((await transfer(a.user, payload, key)).statusCode, 201);
      await sql`update idempotency_keys set expires_at = now() - interval '1 second'
                 where key = ${key}`.execute(app.database.db);
      const fresh = await transfer(a.user, { ...payload, amount: 150 }, key);
      assert.equal(fresh.statusCode, 201, fresh.body);
      assert.equal(fresh.headers['idempotent-replayed'], undefined);
      assert.equal(await balance(a.user, a.wallet.id), 50);
      const replay = await transfer(a.user, { ...payload, amount: 150 }, key);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(await balance(a.user, a.wallet.id), 50);
    });
  });
}
