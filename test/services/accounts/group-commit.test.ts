import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import type { Account, Transfer } from '../../../src/modules/accounts/accounts.repository.js';
import { AccountsService } from '../../../src/modules/accounts/accounts.service.js';
import { HoldsRepository } from '../../../src/modules/accounts/holds.repository.js';
import { HoldsService } from '../../../src/modules/accounts/holds.service.js';
import type { Actor } from '../../../src/platform/auth/actor.js';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { AppError } from '../../../src/platform/errors.js';
import {
  IdempotencyKeys,
  IdempotentReplay,
} from '../../../src/platform/idempotency/idempotency.js';
import { IdempotencyKeysRepository } from '../../../src/platform/idempotency/keys.repository.js';
import { engines } from '../../support/databases.js';
import { assertLedgerInvariants } from '../../support/ledger.js';
import { RecordingRepository } from '../../support/recording-accounts.js';

/** One turn of the event loop, for waits on the batcher's state. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

interface Op {
  ref: string;
  actor: Actor;
  kind: 'transfer' | 'deposit';
  from: string;
  to: string;
  amount: number;
  key: { ownerId: string; key: string; fingerprint: string };
}

type Answer = { moved: Transfer } | { replayed: unknown } | { code: string; status: number };

const render = (transfer: Transfer) => ({
  statusCode: 201,
  headers: {},
  body: { data: { id: transfer.id, amount: transfer.amount } },
});

const settings = [
  { max: 16, waitUs: 0 },
  { max: 1, waitUs: 0 },
  { max: 8, waitUs: 300 },
];

for (const [engine, { max, waitUs }] of engines.flatMap((e) =>
  settings.map((c) => [e, c] as const),
)) {
  describe(
    `transfers and deposits in batches of up to ${max} (waiting ${waitUs} µs) on ${engine.name}`,
    { skip: engine.skip },
    () => {
      let database: DatabaseHandle;
      let repo: RecordingRepository;
      let service: AccountsService;
      let holds: HoldsService;
      /** The pending holds placed between rounds, by payer. */
      const pending: { id: string; payer: Actor }[] = [];
      let keys: IdempotencyKeys;
      const users: { actor: Actor; wallet: string }[] = [];
      const admin: Actor = { userId: uuidv7(), role: 'admin' };
      let issuer: Account;
      let merchant: Account;

      before(async () => {
        database = await engine.open();
        const { db } = database;
        for (let i = 0; i < 6; i++) {
          const id = uuidv7();
          await db
            .insertInto('users')
            .values({
              id,
              name: `U${i}`,
              email: `g-${randomUUID()}@example.com`,
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
        repo = new RecordingRepository(db);
        service = new AccountsService(db, repo, 'USD', false, { max, waitUs });
        keys = new IdempotencyKeys(new IdempotencyKeysRepository(db), 86_400_000);
        holds = new HoldsService(new HoldsRepository(db), repo, service);
        await service.ensureLedger();
        for (const user of users) user.wallet = (await service.walletOf(user.actor.userId!))!.id;
        issuer = (await repo.findSystem('issuer', 'USD'))!;
        merchant = (await service.merchantHoldings('USD')).accounts[0]!;
      });
      after(() => database.close());

      async function answer(op: Op, keyOf: Op['key']): Promise<Answer> {
        const claim = keys.open<Transfer>(
          { ownerId: keyOf.ownerId, key: keyOf.key },
          keyOf.fingerprint,
          render,
        );
        try {
          const moved =
            op.kind === 'deposit'
              ? await service.deposit(
                  op.actor,
                  op.to,
                  { amount: op.amount, currency: 'USD', reference: op.ref },
                  claim,
                )
              : await service.transfer(
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

      /** Random movements: overdrafts, the same rows on both sides, strangers' wallets, duplicates. */
      function randomOps(count: number): Op[] {
        const ops: Op[] = [];
        for (let i = 0; i < count; i++) {
          const ref = `op-${randomUUID()}`;
          const payer = users[randomInt(users.length)]!;
          const other = users.filter((u) => u !== payer)[randomInt(users.length - 1)]!;
          const roll = randomInt(100);
          let op: Op;
          if (roll < 15) {
            op = {
              ref,
              actor: admin,
              kind: 'deposit',
              from: issuer.id,
              to: payer.wallet,
              amount: randomInt(1, 3000),
              key: key(admin),
            };
          } else if (roll < 20) {
            // someone else's wallet as the source: 404, whatever its balance
            op = {
              ref,
              actor: payer.actor,
              kind: 'transfer',
              from: other.wallet,
              to: payer.wallet,
              amount: randomInt(1, 100),
              key: key(payer.actor),
            };
          } else if (roll < 24) {
            op = {
              ref,
              actor: payer.actor,
              kind: 'transfer',
              from: payer.wallet,
              to: randomUUID(),
              amount: 1,
              key: key(payer.actor),
            };
          } else if (roll < 28) {
            op = {
              ref,
              actor: payer.actor,
              kind: 'transfer',
              from: payer.wallet,
              to: merchant.id,
              amount: 1,
              key: key(payer.actor),
            };
          } else if (roll < 38 && ops.length > 0) {
            // a duplicate key of an earlier op: the same request again, or another body
            const twin = ops[randomInt(ops.length)]!;
            op = {
              ...twin,
              ref,
              key: roll < 34 ? twin.key : { ...twin.key, fingerprint: randomUUID() },
            };
          } else {
            op = {
              ref,
              actor: payer.actor,
              kind: 'transfer',
              from: payer.wallet,
              to: other.wallet,
              amount: randomInt(1, 4000),
              key: key(payer.actor),
            };
          }
          ops.push(op);
        }
        return ops;
      }

      function key(actor: Actor) {
        return { ownerId: actor.userId!, key: randomUUID(), fingerprint: randomUUID() };
      }

      /** What the ledger's rules answer for `op` on these balances: undefined when it moves. */
      function refusal(op: Op, balances: Map<string, number>, kinds: Map<string, Account>) {
        const admin = op.actor.role === 'admin';
        const from = kinds.get(op.from);
        const to = kinds.get(op.to);
        if (op.kind === 'transfer' && from && !admin && from.userId !== op.actor.userId)
          return 'ACCOUNT_NOT_FOUND';
        if (op.kind === 'transfer' && to && !admin && to.kind !== 'wallet')
          return 'INVALID_DESTINATION';
        if (!from || !to) return 'ACCOUNT_NOT_FOUND';
        // What the payer may spend: its balance less what its pending holds reserve.
        if (from.kind !== 'issuer' && balances.get(from.id)! - from.held < op.amount)
          return 'INSUFFICIENT_FUNDS';
        return undefined;
      }

      /**
       * Between rounds, holds come and go: some pending ones are voided, and some wallets get a
       * new hold on part of what they may spend, so a round's movements race for wallets whose
       * money is partly held (held amounts don't change during a round: the replay needs them).
       */
      async function reshuffleHolds() {
        for (const hold of pending.splice(0)) {
          if (randomInt(2) === 0) await holds.void(hold.payer, hold.id);
          else pending.push(hold);
        }
        const { kinds } = await balancesNow();
        for (const user of users) {
          const available = kinds.get(user.wallet)!.available;
          if (available < 2 || randomInt(2) === 0) continue;
          const other = users.find((u) => u !== user)!;
          const hold = await holds.place(user.actor, {
            fromAccountId: user.wallet,
            toAccountId: other.wallet,
            amount: randomInt(1, available),
            currency: 'USD',
            hold: {},
          });
          pending.push({ id: hold.id, payer: user.actor });
        }
      }

      async function balancesNow() {
        const rows = await database.db.selectFrom('accounts').selectAll().execute();
        const kinds = new Map<string, Account>();
        const balances = new Map<string, number>();
        for (const row of rows) {
          kinds.set(row.id, {
            id: row.id,
            kind: row.kind,
            userId: row.user_id,
            currency: row.currency,
            balance: Number(row.balance_minor),
            held: Number(row.held_minor),
            available: Number(row.balance_minor) - Number(row.held_minor),
            createdAt: row.created_at,
            updatedAt: row.updated_at,
          });
          balances.set(row.id, Number(row.balance_minor));
        }
        return { kinds, balances };
      }

      /**
       * Runs the ops all at once, then replays the committed statements' movements serially in
       * their commit order (within a batch, its order) and checks every answer against that.
       * Balances are never negative in between, so the final balances are the replay's.
       */
      async function runRound(count: number) {
        await reshuffleHolds();
        const { kinds, balances } = await balancesNow();
        const start = repo.log.length;
        const ops = randomOps(count);
        const answers = await Promise.all(ops.map((op) => answer(op, op.key)));
        const log = repo.log.slice(start);
        const byRef = new Map(ops.map((op, i) => [op.ref, { op, answer: answers[i]! }]));
        const seen = new Set<string>();
        // key -> the transfer that stored it
        const stored = new Map<string, { fingerprint: string; transfer: string }>();
        for (const { movement, outcome } of log) {
          const entry = byRef.get(movement.reference!);
          assert.ok(entry, 'every committed movement is one of the ops');
          assert.ok(!seen.has(movement.reference!), 'no op committed twice');
          seen.add(movement.reference!);
          const { op, answer } = entry;
          // Batches run one at a time, so the log is the commit order and the balances each
          // saw are the replay's. Single statements run side by side and may be logged out of
          // commit order: each is checked against the balance its statement locked.
          const saw = new Map(balances);
          if (max === 1 && outcome.from) saw.set(op.from, outcome.from.balance);
          const expected = refusal(op, saw, kinds);
          assert.equal(outcome.moved, expected === undefined, `${op.ref}: ${expected ?? 'moves'}`);
          if (expected === undefined) {
            balances.set(op.from, balances.get(op.from)! - op.amount);
            balances.set(op.to, balances.get(op.to)! + op.amount);
            const k = `${op.key.ownerId}/${op.key.key}`;
            assert.ok(!stored.has(k), 'a key stores one response');
            stored.set(k, { fingerprint: op.key.fingerprint, transfer: movement.id });
            assert.ok(
              'moved' in answer,
              `${op.ref} moved, so it answers 201: ${JSON.stringify(answer)}`,
            );
            assert.equal(answer.moved.id, movement.id);
            assert.equal(answer.moved.amount, op.amount);
          } else if (
            !('replayed' in answer) &&
            !('code' in answer && answer.code === 'IDEMPOTENCY_KEY_REUSED')
          ) {
            assert.ok('code' in answer, `${op.ref} was refused: ${JSON.stringify(answer)}`);
            assert.equal(answer.code, expected);
          }
        }
        for (const { op, answer } of byRef.values()) {
          const twin = stored.get(`${op.key.ownerId}/${op.key.key}`);
          if (
            'replayed' in answer ||
            ('code' in answer && answer.code === 'IDEMPOTENCY_KEY_REUSED')
          ) {
            assert.ok(twin, `${op.ref} answered for a key that holds a response`);
            if ('replayed' in answer) {
              assert.equal(twin.fingerprint, op.key.fingerprint);
              assert.deepEqual(answer.replayed, { data: { id: twin.transfer, amount: op.amount } });
            } else {
              assert.notEqual(twin.fingerprint, op.key.fingerprint);
            }
          } else {
            assert.ok(
              seen.has(op.ref),
              `${op.ref} answered ${JSON.stringify(answer)} without a statement`,
            );
          }
        }
        const after = await balancesNow();
        assert.deepEqual(after.balances, balances, 'the balances are those of the serial order');
        await assertLedgerInvariants(database.db);
      }

      it('when random movements race, then every answer is that of a serial order and the ledger holds', async () => {
        const rounds = engine.name === 'postgres' && waitUs === 0 ? 25 : 6;
        const batchesBefore = repo.batches;
        for (let round = 0; round < rounds; round++) await runRound(48);
        if (max > 1) assert.ok(repo.batches > batchesBefore, 'movements were batched');
        else assert.equal(repo.batches, 0, 'each movement is its own statement');
      });

      // Cases that need batches are declared only where there are some (not as skipped tests);
      // the first movement goes alone and is held there only when batches don't wait.
      const none = (() => undefined) as unknown as typeof it;
      const itBatched = max > 1 ? it : none;
      const itHeldFirst = max > 1 && waitUs === 0 ? it : none;

      itBatched(
        'when a batch statement fails to serialize, then the whole batch is retried and each member answers once',
        async () => {
          const serialization = Object.assign(new Error('could not serialize access'), {
            code: '40001',
          });
          repo.failNext.push(serialization, serialization);
          await runRound(24);
        },
      );

      itHeldFirst(
        'when a batch statement fails otherwise, then every member fails and nothing of it is applied',
        async () => {
          const { balances } = await balancesNow();
          const journal = await database.db.selectFrom('journal_entries').select('id').execute();
          const lost = new Error('Connection terminated unexpectedly');
          const move = (to: string, amount: number) =>
            service.transfer(admin, {
              fromAccountId: issuer.id,
              toAccountId: to,
              amount,
              currency: 'USD',
            });
          // The first movement goes alone and is held there, so the next ones gather into a batch.
          let release!: () => void;
          repo.hold = new Promise<void>((resolve) => (release = resolve));
          const first = move(users[0]!.wallet, 5);
          while (!repo.holding) await turn();
          repo.failNext.push(lost);
          const rest = users.map((user) =>
            move(user.wallet, 7).then(
              () => 'moved',
              (err: Error) => err.message,
            ),
          );
          while (service.waitingMovements < users.length) await turn();
          release();
          await first;
          assert.deepEqual(
            await Promise.all(rest),
            users.map(() => lost.message),
          );
          const after = await balancesNow();
          assert.equal(after.balances.get(users[0]!.wallet), balances.get(users[0]!.wallet)! + 5);
          for (const user of users.slice(1)) {
            assert.equal(after.balances.get(user.wallet), balances.get(user.wallet));
          }
          const journalAfter = await database.db
            .selectFrom('journal_entries')
            .select('id')
            .execute();
          assert.equal(journalAfter.length, journal.length + 1);
          await assertLedgerInvariants(database.db);
        },
      );

      itBatched(
        'when one batch holds a request twice under one key, then the batch runs again one by one: one 201, one replay',
        async () => {
          const payer = users[1]!;
          await service.deposit(admin, payer.wallet, { amount: 100, currency: 'USD' });
          const twice: Op = {
            ref: 'twice',
            actor: payer.actor,
            kind: 'transfer',
            from: payer.wallet,
            to: users[2]!.wallet,
            amount: 3,
            key: key(payer.actor),
          };
          let release!: () => void;
          repo.hold = new Promise<void>((resolve) => (release = resolve));
          const first = service.transfer(admin, {
            fromAccountId: issuer.id,
            toAccountId: users[3]!.wallet,
            amount: 1,
            currency: 'USD',
          });
          while (!repo.holding) await turn();
          const batchesBefore = repo.batches;
          const answers = Promise.all([answer(twice, twice.key), answer(twice, twice.key)]);
          while (service.waitingMovements < 2) await turn();
          release();
          await first;
          const [one, two] = await answers;
          assert.equal(repo.batches, batchesBefore, 'the batch failed on the key');
          assert.ok(one && 'moved' in one, JSON.stringify(one));
          assert.deepEqual(two, { replayed: { data: { id: one.moved.id, amount: 3 } } });
          await assertLedgerInvariants(database.db);
        },
      );
    },
  );
}
