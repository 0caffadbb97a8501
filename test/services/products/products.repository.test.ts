import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import {
  PostgresProductsRepository,
  type NewProduct,
  type Product,
} from '../../../src/modules/products/products.repository.js';
import { MAX_PRICE_MINOR } from '../../../src/modules/products/products.schemas.js';
import { PRODUCT_SORTS, type ProductSort } from '../../../src/modules/products/products.types.js';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { withTransaction } from '../../../src/platform/db/transaction.js';
import { engines } from '../../support/databases.js';
import { walkPages } from '../../support/pages.js';
import { assertIndexServesInOrder, recordingDatabase } from '../../support/query-plans.js';

let sequence = 0;
function newProduct(overrides: Partial<NewProduct> = {}): NewProduct {
  sequence++;
  return {
    id: uuidv7(),
    name: `Product ${sequence}`,
    description: '',
    priceMinor: 100 * sequence,
    currency: 'USD',
    active: true,
    ...overrides,
  };
}

for (const engine of engines) {
  describe(`products repository on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    let products: PostgresProductsRepository;

    before(async () => {
      database = await engine.open();
      products = new PostgresProductsRepository(database.db);
    });
    after(async () => {
      await database?.close();
    });

    describe('create, find, update', () => {
      beforeEach(async () => {
        await sql`truncate products cascade`.execute(database.db);
      });

      it('when a product is created, then it comes back as stored, version 0, with timestamps from the database', async () => {
        const input = newProduct({ description: 'A fine thing', priceMinor: 1999 });

        const created = await products.create(input);

        assert.deepEqual(
          { ...created, createdAt: undefined, updatedAt: undefined },
          { ...input, version: 0, createdAt: undefined, updatedAt: undefined },
        );
        assert.ok(created.createdAt instanceof Date);
        assert.deepEqual(await products.findById(created.id), created);
        assert.equal(await products.findById(uuidv7()), undefined);
      });

      it('when the price is the largest allowed, then it round-trips as an exact integer', async () => {
        const created = await products.create(newProduct({ priceMinor: MAX_PRICE_MINOR }));

        assert.equal((await products.findById(created.id))?.priceMinor, MAX_PRICE_MINOR);
      });

      it('when the database is asked to store a broken product, then its CHECKs refuse it', async () => {
        for (const broken of [
          { priceMinor: -1 },
          { priceMinor: MAX_PRICE_MINOR + 1 },
          { currency: 'usd' },
          { currency: 'USDX' },
          { name: '' },
          { name: 'x'.repeat(201) },
          { description: 'x'.repeat(5001) },
        ]) {
          await assert.rejects(products.create(newProduct(broken)), JSON.stringify(broken));
        }
      });

      it('when a product is updated, then only the given fields change and the version goes up by one each time', async () => {
        const created = await products.create(newProduct());

        const renamed = await products.update(created.id, { name: 'Renamed' });
        const repriced = await products.update(created.id, { priceMinor: 5, currency: 'EUR' });

        assert.deepEqual(
          { ...renamed, updatedAt: undefined },
          { ...created, name: 'Renamed', version: 1, updatedAt: undefined },
        );
        assert.equal(repriced?.version, 2);
        assert.equal(repriced?.priceMinor, 5);
        assert.equal(repriced?.currency, 'EUR');
        assert.equal(repriced?.name, 'Renamed');
        assert.deepEqual(await products.findById(created.id), repriced);
        assert.equal(await products.update(uuidv7(), { name: 'Nobody' }), undefined);
      });

      it('when ids are looked up in a transaction, then known ones come back once each and unknown ones are left out', async () => {
        const a = await products.create(newProduct());
        const b = await products.create(newProduct({ active: false }));

        const found = await withTransaction(database.db, (tx) =>
          products.findByIds([b.id, a.id, uuidv7()], tx),
        );

        assert.deepEqual(
          found.map((p) => p.id),
          [a.id, b.id].sort(),
        );
        const none = await withTransaction(database.db, (tx) => products.findByIds([], tx));
        assert.deepEqual(none, []);
      });
    });

    describe('list', () => {
      // Same-length lowercase names sort the same under every collation; prices are distinct.
      const names = ['kiwi', 'date', 'plum', 'lime', 'pear', 'figs', 'yuzu', 'sloe', 'acai'];
      const inactive = new Set(['date', 'pear', 'acai']);
      let seeded: Product[];

      before(async () => {
        await sql`truncate products cascade`.execute(database.db);
        seeded = [];
        // One at a time, so created_at (and the UUIDv7 id) grow in insertion order.
        for (const [i, name] of names.entries()) {
          seeded.push(
            await products.create(
              newProduct({ name, priceMinor: ((i * 7) % 10) * 100, active: !inactive.has(name) }),
            ),
          );
        }
      });

      function expected(sort: ProductSort, includeInactive: boolean): Product[] {
        const key = sort.replace('-', '') as 'createdAt' | 'price' | 'name';
        const value = (p: Product) =>
          key === 'createdAt' ? seeded.indexOf(p) : key === 'price' ? p.priceMinor : p.name;
        const ordered = seeded
          .filter((p) => includeInactive || p.active)
          .sort((a, b) => (value(a) < value(b) ? -1 : 1));
        return sort.startsWith('-') ? ordered.reverse() : ordered;
      }

      it('when the public list is read newest first, then it holds active products only and counts them', async () => {
        const page = await products.list({
          offset: 0,
          limit: 3,
          sort: '-createdAt',
          includeInactive: false,
        });

        assert.deepEqual(page.items, expected('-createdAt', false).slice(0, 3));
        assert.equal(page.totalCount, names.length - inactive.size);
      });

      it('when a page past the end is read, then it is empty and still reports the total', async () => {
        assert.deepEqual(
          await products.list({ offset: 100, limit: 4, sort: 'price', includeInactive: true }),
          { items: [], totalCount: names.length },
        );
      });

      it('when every page is walked, for any page size and sort, then each product appears once, in order, under one total', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: names.length + 1 }),
            fc.constantFrom(...PRODUCT_SORTS),
            fc.boolean(),
            async (limit, sort, includeInactive) => {
              const want = expected(sort, includeInactive);
              const walked = await walkPages(limit, want.length, (offset) =>
                products.list({ offset, limit, sort, includeInactive }),
              );
              assert.deepEqual(walked, want);
            },
          ),
          { numRuns: 40 },
        );
      });
    });

    describe('query plans', () => {
      const rowCount = 5000;
      let recorded: ReturnType<typeof recordingDatabase>;
      let recordingProducts: PostgresProductsRepository;

      before(async () => {
        await sql`truncate products cascade`.execute(database.db);
        // One in ten inactive: a plausible catalogue, big enough to plan for.
        await sql`
          insert into products (id, name, price_minor, currency, active, created_at)
          select gen_random_uuid(), 'Product ' || i, (i * 37) % 100000, 'USD', i % 10 <> 0,
                 now() - make_interval(mins => i)
          from generate_series(1, ${rowCount}) as i`.execute(database.db);
        await sql`analyze products`.execute(database.db);
        recorded = recordingDatabase(database.db);
        recordingProducts = new PostgresProductsRepository(recorded.db);
      });

      const cases: [ProductSort, string][] = [
        ['-createdAt', 'products_active_created_idx'],
        ['price', 'products_active_price_idx'],
        ['-price', 'products_active_price_idx'],
        ['name', 'products_active_name_idx'],
      ];
      for (const [sort, index] of cases) {
        it(`when the public list is sorted by ${sort}, then ${index} gives rows in order without a sort`, async (t: TestContext) => {
          const query = await recorded.queryOf(() =>
            recordingProducts.list({ offset: 0, limit: 20, sort, includeInactive: false }),
          );

          await assertIndexServesInOrder(t, database.db, query, index);
        });
      }
    });
  });
}
