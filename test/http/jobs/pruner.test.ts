import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import Fastify from 'fastify';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { buildPruner } from '../../../src/composition/jobs.js';
import { loadConfig } from '../../../src/config.js';
import type { Database, DatabaseHandle } from '../../../src/platform/db/database.js';
import { engines } from '../../support/databases.js';
import { startApp } from '../../support/app.js';
import { eventually } from '../../support/time.js';

const DAY_MS = 86_400_000;
const OLD = 30 * DAY_MS;
const RECENT = 3_600_000;
const log = Fastify({ logger: false }).log;

const ago = (ms: number) => sql<Date>`now() - ${ms} * interval '1 millisecond'`;

type OutboxState = 'pending' | 'sent' | 'dead';

async function addOutboxRow(db: Database, state: OutboxState, ageMs: number) {
  const id = uuidv7();
  await db
    .insertInto('outbox')
    .values({
      id,
      type: 'email.welcome',
      payload: '{}',
      request_id: null,
      created_at: ago(ageMs),
      sent_at: state === 'sent' ? ago(ageMs) : null,
      failed_at: state === 'dead' ? ago(ageMs) : null,
    })
    .execute();
  return id;
}

async function addDelivery(db: Database, ageMs: number, id: string = uuidv7()) {
  await db
    .insertInto('deliveries')
    .values({ id, message_id: `<${id}@test>`, recipient: 'a@example.com', created_at: ago(ageMs) })
    .execute();
  return id;
}

async function addViewFlush(db: Database, ageMs: number) {
  const id = randomUUID();
  await db
    .insertInto('view_flushes')
    .values({ batch_id: id, counters: 1, views: 1, created_at: ago(ageMs) })
    .execute();
  return id;
}

async function ids(db: Database, table: 'outbox' | 'deliveries'): Promise<string[]> {
  return (await db.selectFrom(table).select('id').execute()).map((r) => r.id).sort();
}

const flushIds = async (db: Database) =>
  (await db.selectFrom('view_flushes').select('batch_id').execute()).map((r) => r.batch_id).sort();

/** Prunes until nothing is left to do; the number of batches it took. */
async function pruneAll(pruner: ReturnType<typeof buildPruner>) {
  let batches = 1;
  while (await pruner.pruneOnce()) batches++;
  return batches;
}

for (const engine of engines) {
  describe(`pruning finished rows (${engine.name})`, { skip: engine.skip }, () => {
    let handle: DatabaseHandle;
    let db: Database;
    before(async () => {
      handle = await engine.open();
      db = handle.db;
    });
    after(() => handle.close());
    beforeEach(async () => {
      for (const table of ['deliveries', 'outbox', 'view_flushes'] as const) {
        await db.deleteFrom(table).execute();
      }
    });

    it('when rows are past their retention, then they go and everything else stays', async () => {
      await addOutboxRow(db, 'sent', OLD);
      await addOutboxRow(db, 'dead', OLD);
      const oldPending = await addOutboxRow(db, 'pending', OLD);
      const recentSent = await addOutboxRow(db, 'sent', RECENT);
      await addDelivery(db, OLD);
      const pendingJobsDelivery = await addDelivery(db, OLD, oldPending);
      const recentDelivery = await addDelivery(db, RECENT);
      await addViewFlush(db, OLD);
      const recentFlush = await addViewFlush(db, RECENT);

      await pruneAll(buildPruner(loadConfig({}), db, log));

      assert.deepEqual(await ids(db, 'outbox'), [oldPending, recentSent].sort());
      assert.deepEqual(await ids(db, 'deliveries'), [pendingJobsDelivery, recentDelivery].sort());
      assert.deepEqual(await flushIds(db), [recentFlush]);
    });

    it('when a delivery is younger than the job retry bound, then it stays', async () => {
      const config = loadConfig({});
      // Past the outbox retention but within the deliveries', as DELIVERY_RETENTION_MS requires.
      const kept = await addDelivery(db, config.deliveryRetentionMs - DAY_MS);
      await pruneAll(buildPruner(config, db, log));
      assert.deepEqual(await ids(db, 'deliveries'), [kept]);
    });

    it('when more rows expired than a batch holds, then it deletes a batch at a time until none is left', async () => {
      for (let i = 0; i < 5; i++) {
        await addOutboxRow(db, 'sent', OLD);
        await addDelivery(db, OLD);
        await addViewFlush(db, OLD);
      }
      const pruner = buildPruner(loadConfig({ PRUNE_BATCH_SIZE: '2' }), db, log);
      assert.equal(await pruner.pruneOnce(), true);
      assert.equal((await ids(db, 'outbox')).length, 3);
      assert.equal((await ids(db, 'deliveries')).length, 3);
      assert.equal((await flushIds(db)).length, 3);
      assert.equal(await pruneAll(pruner), 2);
      assert.equal((await ids(db, 'outbox')).length + (await flushIds(db)).length, 0);
      assert.equal((await ids(db, 'deliveries')).length, 0);
    });

    it('when several pruners run at once, then each row is deleted once and none fails', async () => {
      for (let i = 0; i < 30; i++) await addOutboxRow(db, 'sent', OLD);
      const config = loadConfig({ PRUNE_BATCH_SIZE: '4' });
      const pruners = [1, 2, 3].map(() => buildPruner(config, db, log));
      await Promise.all(pruners.map(pruneAll));
      assert.deepEqual(await ids(db, 'outbox'), []);
    });
  });
}

describe('pruning in a running API process', { skip: engines[0]!.skip }, () => {
  it('when the API runs, then its pruner deletes expired rows on its own', async () => {
    const app = await startApp(engines[0]!, { env: { PRUNE_INTERVAL_MS: '1000' } });
    try {
      const db = app.database.db;
      const expired = await addOutboxRow(db, 'sent', OLD);
      const kept = await addOutboxRow(db, 'sent', RECENT);
      await eventually(async () => !(await ids(db, 'outbox')).includes(expired), {
        what: 'the prune',
        timeoutMs: 5000,
      });
      assert.ok((await ids(db, 'outbox')).includes(kept));
    } finally {
      await app.close();
    }
  });
});
