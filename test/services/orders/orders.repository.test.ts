import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { AccountsRepository } from '../../../src/modules/accounts/accounts.repository.js';
import { OrdersRepository } from '../../../src/modules/orders/orders.repository.js';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { engines } from '../../support/databases.js';
import {
  assertIndexServesInOrder,
  explain,
  planNodes,
  recordingDatabase,
} from '../../support/query-plans.js';

for (const engine of engines) {
  describe(
    `orders and statements use their indexes on ${engine.name}`,
    { skip: engine.skip },
    () => {
      let database: DatabaseHandle;
      let recorded: ReturnType<typeof recordingDatabase>;
      const userId = uuidv7();

      before(async () => {
        database = await engine.open();
        recorded = recordingDatabase(database.db);
        await database.db
          .insertInto('users')
          .values({
            id: userId,
            name: 'Plan',
            email: `p-${randomUUID()}@example.com`,
            role: 'user',
            status: 'active',
          })
          .execute();
      });
      after(() => database.close());

      it("when a user's orders are listed, then orders_user_created_idx gives them newest first", async (t) => {
        const orders = new OrdersRepository(recorded.db);
        recorded.queries.length = 0;
        await orders.listByUser(userId, 0, 20);
        await assertIndexServesInOrder(
          t,
          database.db,
          recorded.queries[0]!,
          'orders_user_created_idx',
        );
      });

      it("when an account's statement is read, then both journal indexes serve it", async () => {
        const accounts = new AccountsRepository(recorded.db);
        recorded.queries.length = 0;
        await accounts.listEntries(randomUUID(), 0, 20);
        const plan = await explain(database.db, recorded.queries[0]!, false);
        const indexes = planNodes(plan).map((node) => node['Index Name']);
        assert.ok(indexes.includes('journal_entries_from_idx'), JSON.stringify(plan));
        assert.ok(indexes.includes('journal_entries_to_idx'), JSON.stringify(plan));
      });
    },
  );
}
