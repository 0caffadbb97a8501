import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { OutboxRepository } from '../../../src/platform/jobs/outbox.repository.js';
import { engines } from '../../support/databases.js';

/** The read side of the embedded job dashboard: counts by state and the latest rows of each. */

const minutesAgo = (m: number) => sql<Date>`now() - ${m} * interval '1 minute'`;

for (const engine of engines) {
  describe(`outbox overview (${engine.name})`, { skip: engine.skip }, () => {
    let handle: DatabaseHandle;
    const ids: Record<'pending' | 'sent' | 'dead', string[]> = { pending: [], sent: [], dead: [] };

    before(async () => {
      handle = await engine.open();
      // Each state's rows finish (or are created) one minute apart, the first one oldest.
      for (const state of ['pending', 'sent', 'dead'] as const) {
        for (let i = 0; i < 3; i++) {
          const id = uuidv7();
          ids[state].push(id);
          const at = minutesAgo(10 - i);
          await handle.db
            .insertInto('outbox')
            .values({
              id,
              type: `job.${state}`,
              payload: '{"secret":"not shown"}',
              created_at: at,
              sent_at: state === 'sent' ? at : null,
              failed_at: state === 'dead' ? at : null,
              attempts: state === 'dead' ? 5 : 1,
              last_error: state === 'dead' ? `gave up ${i}` : null,
            })
            .execute();
        }
      }
    });
    after(() => handle.close());

    it('when rows are in every state, then each is counted once', async () => {
      const { counts } = await new OutboxRepository(handle.db).overview(10);
      assert.deepEqual(counts, { pending: 3, sent: 3, dead: 3 });
    });

    it('when asked for the latest two, then each state lists its newest first', async () => {
      const { latest } = await new OutboxRepository(handle.db).overview(2);
      for (const state of ['pending', 'sent', 'dead'] as const) {
        assert.deepEqual(
          latest[state].map((e) => e.id),
          [ids[state][2], ids[state][1]],
          state,
        );
        assert.ok(latest[state].every((e) => e.type === `job.${state}`));
      }
      const dead = latest.dead[0]!;
      assert.equal(dead.attempts, 5);
      assert.equal(dead.lastError, 'gave up 2');
      assert.ok(dead.finishedAt instanceof Date);
      assert.equal(latest.pending[0]!.finishedAt, null);
      assert.ok(!('payload' in dead), 'payloads stay out of the page');
    });
  });
}
