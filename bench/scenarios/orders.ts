import { randomUUID } from 'node:crypto';
import { expectApi, inBatches } from '../lib/api.js';
import { waitForOutbox } from '../lib/outbox.js';
import {
  adminToken,
  CURRENCY,
  fundedWallets,
  randomItem,
  type BenchWallet,
} from './funded-wallets.js';
import type { Scenario, ScenarioContext } from './scenario.js';

const WALLETS = 1_000;
const PRODUCTS = 20;
const PRODUCT_NAME = 'Bench product';

/**
 * The bench's catalogue: PRODUCTS active USD products, created through the API as an admin
 * when missing, and kept for later runs.
 */
async function benchProducts(context: ScenarioContext): Promise<string[]> {
  const existing = async () => {
    const rows = await context.db
      .selectFrom('products')
      .select('id')
      .where('active', '=', true)
      .where('currency', '=', CURRENCY)
      .where('name', 'like', `${PRODUCT_NAME} %`)
      .orderBy('name')
      .limit(PRODUCTS)
      .execute();
    return rows.map((r) => r.id);
  };
  const found = await existing();
  const missing = Array.from({ length: PRODUCTS - found.length }, (_, i) => found.length + i);
  if (missing.length === 0) return found;
  const admin = await adminToken(context);
  await inBatches(missing, 5, (i) =>
    expectApi(201, context.stratumUrl, 'POST', '/api/v1/products', {
      token: admin,
      // Prices from $1.99 to $20.99: an order of three items never comes near a wallet's funds.
      body: {
        name: `${PRODUCT_NAME} ${String(i).padStart(2, '0')}`,
        description: 'Created by npm run bench',
        priceMinor: 199 + i * 100,
        currency: CURRENCY,
      },
    }),
  );
  return existing();
}

/** 1–3 different products, 1–3 of each. */
function randomItems(products: readonly string[]) {
  const picked = new Set<string>();
  const count = 1 + Math.floor(Math.random() * 3);
  while (picked.size < count) picked.add(randomItem(products));
  return [...picked].map((productId) => ({
    productId,
    quantity: 1 + Math.floor(Math.random() * 3),
  }));
}

function randomOrder(wallets: readonly BenchWallet[], products: readonly string[]) {
  const buyer = randomItem(wallets);
  return {
    path: `/api/v1/users/${buyer.userId}/orders`,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${buyer.token}`,
      // Optional on orders; sent as a careful client would, so storing it is part of the cost.
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({ items: randomItems(products) }),
  };
}

/**
 * POST /api/v1/users/:id/orders as the buyer: priced from the catalogue (one read), then one
 * statement (or one batch of them, the group commit, shared with transfers) charges the wallet
 * to one of the merchant's rows (a locked pair and a journal row) and writes the order, its
 * lines, the confirmation email's outbox row and the idempotency key. Every order pays the same
 * merchant, on one of its 16 rows (MERCHANT_SHARDS), taken at random: the hot account of the
 * orders. Stratum drains its outbox in process while the load runs; what is left when it stops
 * is drained before the next run (settle).
 */
function ordersScenario(options: {
  name: string;
  description: string;
  connections?: number;
  p99VsBaseline?: number;
  stratumEnv?: Record<string, string>;
}): Scenario {
  return {
    ...options,
    ratioTarget: 0.6,
    baseline: { kind: 'pgbench' },
    async prepare(context) {
      const [wallets, products] = await Promise.all([
        fundedWallets(context, WALLETS),
        benchProducts(context),
      ]);
      const sample = randomOrder(wallets, products);
      await expectApi(201, context.stratumUrl, 'POST', sample.path, {
        headers: sample.headers,
        body: JSON.parse(sample.body) as unknown,
      });
      await waitForOutbox(context.db);
      return {
        samplePath: '/health/ready',
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => ({ ...request, ...randomOrder(wallets, products) }),
          },
        ],
      };
    },
    async settle({ db }) {
      const { backlog, seconds } = await waitForOutbox(db);
      return `${backlog} confirmation emails were pending when the load stopped, sent ${seconds.toFixed(1)} s later`;
    },
  };
}

const ORDERS =
  'POST /api/v1/users/:id/orders (Bearer of the buyer, Idempotency-Key), 1–3 of 20 products from 1,000 funded wallets, confirmation emails sent in process';

/**
 * Money writes are the shedder's critical class, admitted while fewer than
 * LOAD_SHED_CRITICAL_IN_FLIGHT (128) are in flight: at 200 connections the rest would be
 * answered 503 at once, which measures the shedder, not the throughput. A deployment whose
 * clients keep 200 money requests in flight per process sets it the same way.
 */
export const THROUGHPUT_AT_200 = { LOAD_SHED_CRITICAL_IN_FLIGHT: '256' };

export const orders = ordersScenario({
  name: 'orders',
  description: `${ORDERS}; vs pgbench TPC-B-like tps`,
});

/** One request in flight: no batch ever forms. */
export const orders1 = ordersScenario({
  name: 'orders-1',
  description: `${ORDERS}; 1 connection, vs pgbench -c 1`,
  connections: 1,
  p99VsBaseline: 2,
});

export const orders200 = ordersScenario({
  name: 'orders-200',
  description: `${ORDERS}; 200 connections, vs pgbench -c 200 at scale 200`,
  connections: 200,
  p99VsBaseline: 2,
  stratumEnv: THROUGHPUT_AT_200,
});
