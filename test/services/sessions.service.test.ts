import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { PostgresSessionsRepository } from '../../src/modules/auth/sessions.repository.js';
import { SessionsService } from '../../src/modules/auth/sessions.service.js';
import type { SecurityEventInput } from '../../src/platform/audit/security-log.js';
import type { Actor } from '../../src/platform/auth/actor.js';
import { MemoryRevocationList } from '../../src/platform/auth/revocations.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { engines } from '../support/databases.js';
import { instrument, type Instrumented } from '../support/instrumented-database.js';
import { explain, recordingDatabase, usesIndex } from '../support/query-plans.js';

const DAY_MS = 86_400_000;

for (const engine of engines) {
  describe(`SessionsService on ${engine.name}`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    let db: Instrumented;
    let sessions: SessionsService;
    let revocations: MemoryRevocationList;
    /** What the security log was asked to record, and whether inside a transaction. */
    const recorded: { event: SecurityEventInput; inTransaction: boolean }[] = [];

    before(async () => {
      database = await engine.open();
      db = instrument(database);
      revocations = new MemoryRevocationList();
      sessions = new SessionsService(
        db.handle.db,
        new PostgresSessionsRepository(db.handle.db),
        revocations,
        7 * DAY_MS,
        15 * 60_000,
        0,
        { record: async (event, tx) => void recorded.push({ event, inTransaction: !!tx }) },
      );
    });
    after(() => database?.close());

    async function newUser(): Promise<Actor & { userId: string }> {
      const id = uuidv7();
      await database.db
        .insertInto('users')
        .values({ id, name: 'S', email: `${id}@example.com`, role: 'user', status: 'active' })
        .execute();
      return { userId: id, role: 'user', ip: '10.0.0.1', userAgent: 'test', requestId: 'r-1' };
    }
    const endedEvents = (userId: string) =>
      recorded.filter((r) => r.event.userId === userId && r.event.type === 'session-ended');

    it('when a refresh token is spent, then it takes two statements: the locked read and one write', async () => {
      const user = await newUser();
      const started = await sessions.start(user.userId, user);
      db.reset();
      const next = await sessions.rotate(started.refreshToken);
      assert.equal(next.familyId, started.familyId);
      assert.deepEqual(db.statements, ['SelectQueryNode', 'RawNode']);
    });

    it('when a user ends one of their sessions, then one session-ended event with its id and how, inside the transaction', async () => {
      const user = await newUser();
      const current = await sessions.start(user.userId, user);
      const other = await sessions.start(user.userId, user);
      const actor = { ...user, sessionId: current.familyId };
      await sessions.endSession(actor, user.userId, other.familyId);

      assert.deepEqual(endedEvents(user.userId), [
        {
          event: {
            type: 'session-ended',
            userId: user.userId,
            actorId: user.userId,
            outcome: 'success',
            ip: '10.0.0.1',
            userAgent: 'test',
            requestId: 'r-1',
            details: { sessionId: other.familyId, how: 'ended' },
          },
          inTransaction: true,
        },
      ]);
      assert.equal(await revocations.isRevoked('none', other.familyId), true);
      assert.equal(await revocations.isRevoked('none', current.familyId), false);
      await assert.rejects(sessions.endSession(actor, user.userId, other.familyId), {
        code: 'SESSION_NOT_FOUND',
      });
      assert.equal(endedEvents(user.userId).length, 1, 'an end that ends nothing records nothing');
    });

    it("when an admin ends all of a user's sessions, then each is recorded as ended-by-admin by the admin", async () => {
      const user = await newUser();
      const admin: Actor = { userId: uuidv7(), role: 'admin' };
      const started = [
        await sessions.start(user.userId, user),
        await sessions.start(user.userId, user),
      ];
      assert.equal(await sessions.endAllSessions(admin, user.userId), 2);
      const events = endedEvents(user.userId).map((r) => r.event);
      assert.deepEqual(
        events.map((e) => [e.actorId, e.details?.how, e.details?.sessionId]).sort(),
        started.map((s) => [admin.userId, 'ended-by-admin', s.familyId]).sort(),
      );
    });

    it('when a spent token comes back, then the session-ended event says reuse-detected', async () => {
      const user = await newUser();
      const started = await sessions.start(user.userId, user);
      await sessions.rotate(started.refreshToken);
      await assert.rejects(sessions.rotate(started.refreshToken, user), {
        code: 'REFRESH_TOKEN_REUSED',
      });
      assert.deepEqual(
        endedEvents(user.userId).map((r) => r.event.details),
        [{ sessionId: started.familyId, how: 'reuse-detected' }],
      );
    });

    it("when a user without read:users asks for another user's sessions, then NOT_FOUND", async () => {
      const owner = await newUser();
      const stranger = await newUser();
      await sessions.start(owner.userId, owner);
      const page = { page: 1, pageSize: 20 };
      await assert.rejects(sessions.listSessions(stranger, owner.userId, page), {
        code: 'NOT_FOUND',
      });
      await assert.rejects(sessions.endAllSessions(stranger, owner.userId), { code: 'NOT_FOUND' });
      assert.equal((await sessions.listSessions(owner, owner.userId, page)).totalCount, 1);
    });

    it('when sessions are listed and pruned, then each query is served by its index', async () => {
      const recording = recordingDatabase(database.db);
      const repository = new PostgresSessionsRepository(recording.db);
      const user = await newUser();
      const planOf = async (
        work: () => Promise<unknown>,
        pick = (sqlText: string) => !!sqlText,
      ) => {
        recording.queries.length = 0;
        await work();
        const query = recording.queries.find((q) => pick(q.sql))!;
        return explain(database.db, query, false);
      };
      const cases: [string, () => Promise<unknown>, (sqlText: string) => boolean][] = [
        [
          'sessions_user_live_idx',
          () => repository.listLive(user.userId, 0, 20),
          (q) => q.includes('order by'),
        ],
        ['sessions_ended_idx', () => repository.pruneEnded(DAY_MS, 10), () => true],
        ['sessions_expires_idx', () => repository.pruneExpired(DAY_MS, 10), () => true],
        ['refresh_tokens_spent_idx', () => repository.pruneSpentTokens(10), () => true],
      ];
      for (const [index, work, pick] of cases) {
        const plan = await planOf(work, pick);
        assert.ok(usesIndex(plan, index), `${index}: ${JSON.stringify(plan)}`);
      }
    });
  });
}
