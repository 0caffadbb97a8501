import { randomUUID } from 'node:crypto';
import { expectApi } from '../lib/api.js';
import { CURRENCY, fundedWallets, randomPair, type BenchWallet } from './funded-wallets.js';
import type { Scenario } from './scenario.js';

const WALLETS = 1_000;
const PATH = '/api/v1/transfers';

/** A transfer of 1–100 cents between a random pair, with a key of its own, as the payer. */
function randomTransfer(wallets: readonly BenchWallet[]) {
  const [from, to] = randomPair(wallets);
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
 * POST /api/v1/transfers as the payer among 1,000 funded wallets, a random pair per request:
 * one statement locks both rows in id order, checks them, writes both balances, the journal row
 * and the idempotency key with its response, and commits. A TPC-B transaction likewise moves
 * one amount and commits once, so pgbench's tps on the same PostgreSQL is the yardstick.
 */
export const transfers: Scenario = {
  name: 'transfers',
  description:
    'POST /api/v1/transfers (Bearer of the payer, unique Idempotency-Key) between random pairs of 1,000 funded wallets, vs pgbench TPC-B-like tps on the same PostgreSQL',
  ratioTarget: 0.6,
  baseline: { kind: 'pgbench' },
  async prepare(context) {
    const wallets = await fundedWallets(context, WALLETS);
    // One request through the API first: a load of 4xx answers would measure nothing.
    const sample = randomTransfer(wallets);
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
          setupRequest: (request) => ({ ...request, ...randomTransfer(wallets) }),
        },
      ],
    };
  },
};
