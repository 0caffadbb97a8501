import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { HoldsRepository } from '../../src/modules/accounts/holds.repository.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { fixtures, type Fixtures } from '../support/fixtures.js';
import { RaceGate } from '../support/overlap.js';
import { assertLedgerInvariants, type AccountBody } from '../support/ledger.js';

for (const engine of engines) {
  describe(`holds racing on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    let make: Fixtures;
    let holds: HoldsRepository;
    // Counts the money requests in flight at once: the races below must really overlap.
    const money = new RaceGate((req) => /^\/api\/v1\/(transfers|holds\/)/.test(req.url));

    before(async () => {
      // The sweep runs where a test runs it, racing what it races.
      app = await startApp(engine, {
        beforeReady: money.install,
        env: { HOLD_SWEEP_INTERVAL_MS: '3600000' },
      });
      make = fixtures(app);
      holds = new HoldsRepository(app.database.db);
    });
    after(() => app.close());

    const post = (user: TestUser, url: string, payload?: object) =>
      app.server.inject({
        method: 'POST',
        url,
        headers: { ...bearer(user.accessToken), 'idempotency-key': randomUUID() },
        ...(payload ? { payload } : {}),
      });
    const account = async (user: TestUser, id: string) =>
      (
        await app.server.inject({
          method: 'GET',
          url: `/api/v1/accounts/${id}`,
          headers: bearer(user.accessToken),
        })
      ).json<{ data: AccountBody }>().data;

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

    it('when a capture, a void and the expiry sweep race on one hold, then exactly one wins', async () => {
      for (let round = 0; round < 12; round++) {
        const p = await parties(1_000);
        const placed = await post(p.payer, '/api/v1/transfers', {
          fromAccountId: p.from.id,
          toAccountId: p.to.id,
          amount: 400,
          currency: 'USD',
          hold: {},
        });
        assert.equal(placed.statusCode, 201, placed.body);
        const id = placed.json<{ data: { id: string } }>().data.id;
        // Due around now: the sweep, the capture and the void all have a chance.
        await sql`UPDATE holds SET expires_at = now() + ${`${randomInt(0, 40)} milliseconds`}::interval
                   WHERE id = ${id}::uuid`.execute(app.database.db);
        money.hold(2);
        let racing = true;
        const sweeping = (async () => {
          let expired = 0;
          while (racing) {
            expired += await holds.expireDue(10);
            // PGlite answers without I/O: give the requests their turn.
            await new Promise((resolve) => setImmediate(resolve));
          }
          return expired;
        })();
        const [capture, voided] = await Promise.all([
          post(p.payee, `/api/v1/holds/${id}/capture`, { amount: 300 }),
          post(p.payer, `/api/v1/holds/${id}/void`),
        ]);
        racing = false;
        await sweeping;
        // After its expiry whatever is left is released.
        await sql`UPDATE holds SET expires_at = now() WHERE id = ${id}::uuid AND status = 'pending'`.execute(
          app.database.db,
        );
        await holds.expireDue(10);
        const hold = (await holds.findById(id))!;
        const wins = [capture.statusCode, voided.statusCode].filter((s) => s === 200).length;
        for (const res of [capture, voided]) {
          assert.ok([200, 409].includes(res.statusCode), res.body);
        }
        const expected = { captured: 1, voided: 1, expired: 0 }[hold.status as string];
        assert.equal(wins, expected, `${hold.status}: capture ${capture.body} void ${voided.body}`);
        if (hold.status === 'captured') assert.equal(capture.statusCode, 200);
        if (hold.status === 'voided') assert.equal(voided.statusCode, 200);
        const from = await account(p.payer, p.from.id);
        assert.equal(from.held, 0);
        assert.equal(from.balance, hold.status === 'captured' ? 700 : 1_000);
      }
      await assertLedgerInvariants(app.database.db);
    });

    it('when many holds race for one wallet, then they never reserve more than its balance', async () => {
      const p = await parties(1_000);
      money.hold(30);
      const responses = await Promise.all(
        Array.from({ length: 30 }, () =>
          post(p.payer, '/api/v1/transfers', {
            fromAccountId: p.from.id,
            toAccountId: p.to.id,
            amount: 100,
            currency: 'USD',
            hold: { expiresIn: 600 },
          }),
        ),
      );
      assert.equal(money.maxInFlight, 30, 'all 30 were in flight at once');
      const statuses = responses.map((r) => r.statusCode).sort();
      assert.deepEqual(statuses, [...Array<number>(10).fill(201), ...Array<number>(20).fill(422)]);
      const from = await account(p.payer, p.from.id);
      assert.deepEqual([from.balance, from.held, from.available], [1_000, 1_000, 0]);
      await assertLedgerInvariants(app.database.db);
    });

    it('when transfers (batched) race holds on one wallet, then no transfer spends held money', async () => {
      for (let round = 0; round < 4; round++) {
        const p = await parties(5_000);
        const others = await Promise.all([make.user(), make.user()]);
        const wallets = await Promise.all(others.map((u) => make.fundedWallet(u, 0)));
        const plans = Array.from({ length: 60 }, (_, i) => ({
          hold: i % 2 === 0,
          amount: randomInt(50, 400),
          to: i % 3 === 0 ? p.to.id : wallets[i % 2]!.id,
        }));
        money.hold(plans.length);
        const responses = await Promise.all(
          plans.map((plan) =>
            post(p.payer, '/api/v1/transfers', {
              fromAccountId: p.from.id,
              toAccountId: plan.to,
              amount: plan.amount,
              currency: 'USD',
              ...(plan.hold ? { hold: {} } : {}),
            }),
          ),
        );
        assert.equal(money.maxInFlight, plans.length, 'all were in flight at once');
        let held = 0;
        let moved = 0;
        responses.forEach((res, i) => {
          assert.ok([201, 422].includes(res.statusCode), res.body);
          if (res.statusCode !== 201) return;
          if (plans[i]!.hold) held += plans[i]!.amount;
          else moved += plans[i]!.amount;
        });
        assert.ok(held > 0 && moved > 0, `both kinds went through (held ${held}, moved ${moved})`);
        const from = await account(p.payer, p.from.id);
        assert.deepEqual([from.balance, from.held], [5_000 - moved, held]);
        assert.ok(from.available >= 0);
        // Every refusal was a real one: at its turn, what was left could not pay it.
        const smallestRefused = Math.min(
          ...responses.flatMap((res, i) => (res.statusCode === 422 ? [plans[i]!.amount] : [])),
        );
        if (Number.isFinite(smallestRefused)) assert.ok(from.available < smallestRefused);
        await assertLedgerInvariants(app.database.db);
      }
    });
  });
}
