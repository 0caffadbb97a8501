import crypto from 'node:crypto';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { NewProduct } from '../modules/products/products.repository.js';
import type { Database } from '../platform/db/database.js';

/** The demo catalogue `npm run db:seed` adds: a few products, one of them inactive. */

const CATALOGUE: Omit<NewProduct, 'id'>[] = [
  {
    name: 'Espresso cup',
    description: 'Porcelain, 90 ml.',
    priceMinor: 1200,
    currency: 'USD',
    active: true,
  },
  {
    name: 'Pour-over kettle',
    description: 'Gooseneck, 1 l.',
    priceMinor: 4900,
    currency: 'USD',
    active: true,
  },
  {
    name: 'Hand grinder',
    description: 'Conical burrs.',
    priceMinor: 8950,
    currency: 'USD',
    active: true,
  },
  {
    name: 'Paper filters',
    description: 'Pack of 100.',
    priceMinor: 699,
    currency: 'USD',
    active: true,
  },
  {
    name: 'Coffee beans',
    description: 'Single origin, 250 g.',
    priceMinor: 1599,
    currency: 'USD',
    active: true,
  },
  {
    name: 'Milk frother',
    description: 'Discontinued.',
    priceMinor: 2999,
    currency: 'USD',
    active: false,
  },
];

// The ids' time part: fixed, so the same product gets the same id on every run.
const CATALOGUE_EPOCH_MS = Date.UTC(2024, 0, 1);

/** Fixed ids (UUIDv7 from a fixed time and the name's hash), so seeding twice adds nothing. */
export function demoProducts(): NewProduct[] {
  return CATALOGUE.map((product, i) => ({
    id: uuidv7({
      msecs: CATALOGUE_EPOCH_MS + i,
      random: crypto.createHash('sha256').update(product.name).digest().subarray(0, 16),
    }),
    ...product,
  }));
}

/** Inserts the demo catalogue in one statement; returns how many of its rows were new. */
export async function seedDemoProducts(db: Database): Promise<{ inserted: number; total: number }> {
  const products = demoProducts();
  const result = await sql`
    insert into products (id, name, description, price_minor, currency, active)
    select * from unnest(
      ${products.map((p) => p.id)}::uuid[],
      ${products.map((p) => p.name)}::text[],
      ${products.map((p) => p.description)}::text[],
      ${products.map((p) => p.priceMinor)}::bigint[],
      ${products.map((p) => p.currency)}::text[],
      ${products.map((p) => p.active)}::boolean[]
    )
    on conflict (id) do nothing`.execute(db);
  return { inserted: Number(result.numAffectedRows ?? 0n), total: products.length };
}
