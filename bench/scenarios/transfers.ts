import { randomUUID } from 'node:crypto';
import { expectApi } from '../lib/api.js';
import {
  CURRENCY,
  fundedWallets,
  randomItem,
  randomPair,
  type BenchWallet,
} from './funded-wallets.js';
import type { Scenario } from './scenario.js';
import { THROUGHPUT_AT_200 } from './orders.js';

const WALLETS = 1_000;
const PATH = '/api/v1/transfers';

/** Who pays whom: a random pair, or one side the same wallet every time (a hot account). */
type Pairing = 'uniform' | 'hot-payer' | 'hot-payee';

function pairOf(wallets: readonly BenchWallet[], pairing: Pairing): [BenchWallet, BenchWallet] {
  const hot = wallets[0]!;
  const others = wallets.slice(1);
  if (pairing === 'hot-payer') return [hot, randomItem(others)];
  if (pairing === 'hot-payee') return [randomItem(others), hot];
  return randomPair(wallets);
}

/** A transfer of 1–100 cents, with a key of its own, as the payer. */
function randomTransfer(wallets: readonly BenchWallet[], pairing: Pairing) {
  const [from, to] = pairOf(wallets, pairing);
  return {
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${from.token}`,
      // Required, and unique per request: a repeated key would replay instead of moving money.
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({
      fromAccountId: from.accountId,
      toAccountId: to.accountId,
      amount: 1 + Math.floor(Math.random() * 100),
      currency: CURRENCY,
    }),
  };
}

/**
 * POST /api/v1/transfers as the payer among 1,000 funded wallets: one statement (or one batch
 * of them, the group commit) locks the rows in id order, checks them, writes the balances, the
 * journal rows and the idempotency keys with their responses, and commits. A TPC-B transaction
 * likewise moves one amount and commits once, so pgbench's tps on the same PostgreSQL, at the
 * same concurrency, is the yardstick.
 */
function transfersScenario(options: {
  name: string;
  description: string;
  pairing: Pairing;
  connections?: number;
  ratioTarget: number | null;
  p99VsBaseline?: number;
  stratumEnv?: Record<string, string>;
}): Scenario {
  const { pairing, ...rest } = options;
  return {
    ...rest,
    baseline: options.ratioTarget === null ? null : { kind: 'pgbench' },
    async prepare(context) {
      const wallets = await fundedWallets(context, WALLETS);
      // One request through the API first: a load of 4xx answers would measure nothing.
      const sample = randomTransfer(wallets, pairing);
      await expectApi(201, context.stratumUrl, 'POST', PATH, {
        headers: sample.headers,
        body: JSON.parse(sample.body) as unknown,
      });
      return {
        samplePath: '/health/ready',
        requests: [
          {
            method: 'POST',
            path: PATH,
            setupRequest: (request) => ({ ...request, ...randomTransfer(wallets, pairing) }),
          },
        ],
      };
    },
  };
}

const UNIFORM =
  'POST /api/v1/transfers (Bearer of the payer, unique Idempotency-Key) between random pairs of 1,000 funded wallets';

export const transfers = transfersScenario({
  name: 'transfers',
  description: `${UNIFORM}, vs pgbench TPC-B-like tps on the same PostgreSQL`,
  pairing: 'uniform',
  ratioTarget: 1.0,
});

/** One request in flight: no batch ever forms, so this is one statement's round trip. */
export const transfers1 = transfersScenario({
  name: 'transfers-1',
  description: `${UNIFORM}, 1 connection, vs pgbench -c 1`,
  pairing: 'uniform',
  connections: 1,
  ratioTarget: 1.0,
  p99VsBaseline: 2,
});

export const transfers200 = transfersScenario({
  name: 'transfers-200',
  description: `${UNIFORM}, 200 connections, vs pgbench -c 200 at scale 200`,
  pairing: 'uniform',
  connections: 200,
  ratioTarget: 1.0,
  p99VsBaseline: 2,
  stratumEnv: THROUGHPUT_AT_200,
});

/** Every transfer from one wallet: its row is in every batch (compare with `transfers`). */
export const transfersHotPayer = transfersScenario({
  name: 'transfers-hot-payer',
  description:
    'POST /api/v1/transfers from ONE funded wallet to random others of 1,000 (a hot account); reported beside `transfers`',
  pairing: 'hot-payer',
  ratioTarget: null,
});

/** Every transfer into one wallet (compare with `transfers`). */
export const transfersHotPayee = transfersScenario({
  name: 'transfers-hot-payee',
  description:
    'POST /api/v1/transfers from random wallets of 1,000 to ONE wallet (a hot account); reported beside `transfers`',
  pairing: 'hot-payee',
  ratioTarget: null,
});
