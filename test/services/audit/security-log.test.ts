import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { sql } from 'kysely';
import { buildPruner } from '../../../src/composition/jobs.js';
import { loadConfig } from '../../../src/config.js';
import { eventHash, GENESIS_HASH, UNMATCHED_CHAIN_ID } from '../../../src/platform/audit/chain.js';
import { PostgresSecurityLog } from '../../../src/platform/audit/postgres-security-log.js';
import { pruneSecurityEvents } from '../../../src/platform/audit/prune.js';
import type { SecurityEventInput } from '../../../src/platform/audit/security-log.js';
import { SecurityLogVerifier } from '../../../src/platform/audit/verify.js';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { withTransaction } from '../../../src/platform/db/transaction.js';
import { engines } from '../../support/databases.js';

const DAY_MS = 86_400_000;

function signIn(userId: string | null, n = 0): SecurityEventInput {
  return {
    type: 'sign-in',
    userId,
    actorId: userId,
    outcome: 'success',
    ip: '203.0.113.7',
    userAgent: 'test-agent/1.0',
    requestId: `req-${n}`,
    details: { method: 'password', n, zeta: true, alpha: null },
  };
}

for (const engine of engines) {
  describe(`security log on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    let log: PostgresSecurityLog;
    let verifier: SecurityLogVerifier;
    before(async () => {
      database = await engine.open();
      log = new PostgresSecurityLog(database.db);
      verifier = new SecurityLogVerifier(database.db);
    });
    after(async () => database?.close());

    async function recordMany(userId: string, count: number) {
      for (let n = 1; n <= count; n++) await log.record(signIn(userId, n));
    }

    /** As the superuser, with the append-only trigger off for this transaction only. */
    async function tamper(statement: ReturnType<typeof sql>) {
      await withTransaction(database.db, async (tx) => {
        await sql`set local session_replication_role = replica`.execute(tx);
        await statement.execute(tx);
      });
    }

    it('when events are recorded, then each row hashes its fields over the previous hash and the chain verifies', async () => {
      const userId = randomUUID();
      await recordMany(userId, 3);
      const rows = await database.db
        .selectFrom('security_events')
        .selectAll()
        .where('chain_id', '=', userId)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        rows.map((r) => Number(r.seq)),
        [1, 2, 3],
      );
      assert.equal(rows[0]!.prev_hash, GENESIS_HASH);
      assert.equal(rows[1]!.prev_hash, rows[0]!.hash);
      assert.deepEqual(rows[0]!.details, { alpha: null, method: 'password', n: 1, zeta: true });
      const recomputed = eventHash({
        chainId: userId,
        seq: 1,
        prevHash: GENESIS_HASH,
        id: rows[0]!.id,
        userId,
        actorId: userId,
        type: 'sign-in',
        outcome: 'success',
        ip: '203.0.113.7',
        userAgent: 'test-agent/1.0',
        requestId: 'req-1',
        details: { method: 'password', n: 1, zeta: true, alpha: null },
        createdAt: rows[0]!.created_at,
      });
      assert.equal(recomputed, rows[0]!.hash);
      const report = await verifier.verifyChain(userId);
      assert.deepEqual(report, { chainId: userId, anchorSeq: 0, headSeq: 3, checked: 3 });
    });

    it('when fields hold non-ASCII text, quotes and a NUL, then the database hashes them as TypeScript does', async () => {
      const userId = randomUUID();
      for (let n = 0; n < 3; n++) {
        await log.record({
          ...signIn(userId, n),
          userAgent: 'Navigateur/1.0 (Zoë; "quoted" \\ ✓ 😀 \u0000 \ud800)',
          details: { name: 'Zoë ✓', quote: '"', n, big: 2 ** 40, fraction: 0.1 },
        });
      }
      assert.deepEqual(await verifier.verifyChain(userId), {
        chainId: userId,
        anchorSeq: 0,
        headSeq: 3,
        checked: 3,
      });
    });

    it('when no account matched, then the event goes to the chain of unmatched events', async () => {
      await log.record({ ...signIn(null), type: 'sign-in-failed', outcome: 'failure' });
      const report = await verifier.verifyChain(UNMATCHED_CHAIN_ID);
      assert.equal(report.broken, undefined);
      assert.ok(report.headSeq >= 1);
    });

    it('when a row is updated or deleted through SQL, then the database refuses', async () => {
      const userId = randomUUID();
      await recordMany(userId, 1);
      await assert.rejects(
        sql`update security_events set type = 'sign-in-failed' where chain_id = ${userId}`.execute(
          database.db,
        ),
        /append-only/,
      );
      await assert.rejects(
        sql`delete from security_events where chain_id = ${userId}`.execute(database.db),
        /append-only/,
      );
      await assert.rejects(
        sql`update security_event_chains set seq = 0 where chain_id = ${userId}`.execute(
          database.db,
        ),
        /forward/,
      );
      assert.equal((await verifier.verifyChain(userId)).broken, undefined);
    });

    it('when a row is changed with the trigger bypassed, then verification names its chain and sequence', async () => {
      const userId = randomUUID();
      await recordMany(userId, 5);
      await tamper(
        sql`update security_events set details = '{"method":"oidc"}'
             where chain_id = ${userId} and seq = 3`,
      );
      const report = await verifier.verifyChain(userId);
      assert.deepEqual(report.broken, {
        chainId: userId,
        seq: 3,
        reason: 'its contents do not match its hash',
      });
      assert.equal(report.checked, 2);
    });

    it('when a row in the middle is deleted, then verification names the missing sequence', async () => {
      const userId = randomUUID();
      await recordMany(userId, 5);
      await tamper(sql`delete from security_events where chain_id = ${userId} and seq = 2`);
      const report = await verifier.verifyChain(userId);
      assert.deepEqual(report.broken, {
        chainId: userId,
        seq: 2,
        reason: 'sequence 2 is missing',
      });
    });

    it('when the newest row is deleted, then the chain no longer reaches its head', async () => {
      const userId = randomUUID();
      await recordMany(userId, 3);
      await tamper(sql`delete from security_events where chain_id = ${userId} and seq = 3`);
      assert.equal((await verifier.verifyChain(userId)).broken?.seq, 3);
    });

    it('when a row is inserted past the head, then verification names it', async () => {
      const userId = randomUUID();
      await recordMany(userId, 2);
      const last = await database.db
        .selectFrom('security_events')
        .select('hash')
        .where('chain_id', '=', userId)
        .where('seq', '=', 2)
        .executeTakeFirstOrThrow();
      const forged = {
        chainId: userId,
        seq: 3,
        prevHash: last.hash,
        id: randomUUID(),
        userId,
        actorId: userId,
        type: 'sign-in',
        outcome: 'success',
        ip: null,
        userAgent: null,
        requestId: null,
        details: {},
        createdAt: new Date(),
      };
      await sql`insert into security_events (id, chain_id, seq, user_id, actor_id, type, outcome,
                  details, prev_hash, hash, created_at)
                values (${forged.id}, ${userId}, 3, ${userId}, ${userId}, 'sign-in', 'success',
                  '{}', ${last.hash}, ${eventHash(forged)}, ${forged.createdAt})`.execute(
        database.db,
      );
      assert.deepEqual((await verifier.verifyChain(userId)).broken, {
        chainId: userId,
        seq: 3,
        reason: "sequence 3 is past the chain's head",
      });
    });

    it('when many events of one account are recorded at once, then they form one unbroken chain', async () => {
      const userId = randomUUID();
      await Promise.all(Array.from({ length: 25 }, (_, n) => log.record(signIn(userId, n))));
      const report = await verifier.verifyChain(userId);
      assert.deepEqual(report, { chainId: userId, anchorSeq: 0, headSeq: 25, checked: 25 });
    });

    it('when an event is recorded in a transaction that rolls back, then neither it nor its sequence number remains', async () => {
      const userId = randomUUID();
      await recordMany(userId, 1);
      await assert.rejects(
        withTransaction(database.db, async (tx) => {
          await log.record(signIn(userId, 2), tx);
          throw new Error('rolled back');
        }),
      );
      await recordMany(userId, 1);
      assert.deepEqual(await verifier.verifyChain(userId), {
        chainId: userId,
        anchorSeq: 0,
        headSeq: 2,
        checked: 2,
      });
    });

    it('when old events are pruned, then the chain is cut at its oldest part and still verifies from its anchor', async () => {
      const userId = randomUUID();
      const old = new PostgresSecurityLog(database.db, () => new Date(Date.now() - 400 * DAY_MS));
      for (let n = 1; n <= 4; n++) await old.record(signIn(userId, n));
      await recordMany(userId, 2);
      const fourth = await database.db
        .selectFrom('security_events')
        .select('hash')
        .where('chain_id', '=', userId)
        .where('seq', '=', 4)
        .executeTakeFirstOrThrow();
      // Two per batch: the pruner goes on batch after batch, and each batch moves the anchor on.
      let deleted = 0;
      for (let batch; (batch = await pruneSecurityEvents(database.db, 365 * DAY_MS, 2)) > 0;) {
        deleted += batch;
      }
      assert.ok(deleted >= 4);
      const chain = await database.db
        .selectFrom('security_event_chains')
        .selectAll()
        .where('chain_id', '=', userId)
        .executeTakeFirstOrThrow();
      assert.equal(Number(chain.anchor_seq), 4);
      assert.equal(chain.anchor_hash, fourth.hash);
      assert.deepEqual(await verifier.verifyChain(userId), {
        chainId: userId,
        anchorSeq: 4,
        headSeq: 6,
        checked: 2,
      });
      await recordMany(userId, 1);
      assert.equal((await verifier.verifyChain(userId)).checked, 3);
    });

    it('when several pruners run at once under SECURITY_LOG_RETENTION, then each chain is cut once and verifies from its anchor', async () => {
      const config = loadConfig({ SECURITY_LOG_RETENTION: '30d', PRUNE_BATCH_SIZE: '3' });
      const userIds = [randomUUID(), randomUUID(), randomUUID()];
      const old = new PostgresSecurityLog(database.db, () => new Date(Date.now() - 40 * DAY_MS));
      for (const userId of userIds) {
        for (let n = 1; n <= 5; n++) await old.record(signIn(userId, n));
        await recordMany(userId, 1);
      }
      const logger = Fastify({ logger: false }).log;
      const pruners = [1, 2, 3].map(() => buildPruner(config, database.db, logger));
      await Promise.all(
        pruners.map(async (pruner) => {
          while (await pruner.pruneOnce());
        }),
      );
      for (const userId of userIds) {
        assert.deepEqual(await verifier.verifyChain(userId), {
          chainId: userId,
          anchorSeq: 5,
          headSeq: 6,
          checked: 1,
        });
      }
    });

    it('when a chain has a gap, then pruning does not cut across it', async () => {
      const userId = randomUUID();
      const old = new PostgresSecurityLog(database.db, () => new Date(Date.now() - 400 * DAY_MS));
      for (let n = 1; n <= 3; n++) await old.record(signIn(userId, n));
      await tamper(sql`delete from security_events where chain_id = ${userId} and seq = 1`);
      await pruneSecurityEvents(database.db, 365 * DAY_MS, 100);
      assert.deepEqual((await verifier.verifyChain(userId)).broken, {
        chainId: userId,
        seq: 1,
        reason: 'sequence 1 is missing',
      });
    });

    it('when every chain is verified, then the broken ones are named and the others pass', async () => {
      const reports = await verifier.verifyAll();
      assert.ok(reports.some((r) => r.broken) && reports.some((r) => !r.broken));
      for (const r of reports) if (!r.broken) assert.equal(r.checked, r.headSeq - r.anchorSeq);
    });
  });
}
