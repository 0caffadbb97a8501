import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seedDemoProducts } from '../../../src/cli/seed-products.js';
import { PostgresProductsRepository } from '../../../src/modules/products/products.repository.js';
import { engines } from '../../support/databases.js';

const engine = engines.find((e) => e.name === 'pglite')!;

describe('demo catalogue (npm run db:seed)', { skip: engine.skip }, () => {
  it('when seeded twice, then the products go in once, and the public list leaves out the inactive one', async () => {
    const database = await engine.open();
    try {
      assert.deepEqual(await seedDemoProducts(database.db), { inserted: 6, total: 6 });
      assert.deepEqual(await seedDemoProducts(database.db), { inserted: 0, total: 6 });
      const list = await new PostgresProductsRepository(database.db).list({
        offset: 0,
        limit: 20,
        sort: 'price',
        includeInactive: false,
      });
      assert.equal(list.totalCount, 5);
      assert.ok(list.items.every((p) => Number.isInteger(p.priceMinor) && p.currency === 'USD'));
    } finally {
      await database.close();
    }
  });
});
