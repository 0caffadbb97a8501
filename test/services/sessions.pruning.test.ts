import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { buildPruner } from '../../src/composition/jobs.js';
import { loadConfig } from '../../src/config.js';
import { hashRefreshToken } from '../../src/platform/auth/tokens.js';
import { startApp, type StartedApp } from '../support/app.js';
import { engines } from '../support/databases.js';

const PASSWORD = 'correct horse battery';

for (const engine of engines) {
  describe(`session pruning on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;

    before(async () => {
      // No grace: a spent token that comes back is a reuse at once.
      app = await startApp(engine, { env: { JWT_REFRESH_REUSE_GRACE: '0' } });
    });
    after(() => app?.close());

    const db = () => app.database.db;
    const sessionIds = async (userId: string) =>
      (await db().selectFrom('sessions').select('id').where('user_id', '=', userId).execute())
        .map((r) => r.id)
        .sort();
    const tokenHashes = async (familyId: string) =>
      (
        await db()
          .selectFrom('refresh_tokens')
          .select('token_hash')
          .where('family_id', '=', familyId)
          .execute()
      ).map((r) => r.token_hash);
    /** Moves a session's times `days` into the past. */
    const age = (id: string, column: 'ended_at' | 'expires_at', days: number) =>
      db()
        .updateTable('sessions')
        .set({ [column]: sql`now() - ${days} * interval '1 day'` })
        .where('id', '=', id)
        .execute();

    async function pruneAll() {
      const pruner = buildPruner(
        loadConfig({ SESSION_RETENTION: '30d' }),
        app.database.db,
        app.server.log,
      );
      while (await pruner.pruneOnce());
    }

    it('when sessions ended or expired longer ago than SESSION_RETENTION, then they go with their tokens, and the others stay', async () => {
      const { services } = app;
      const admin = { userId: 'system', role: 'admin' as const };
      const user = await services.users.createUser(admin, {
        name: 'Pruned',
        email: `p-${randomUUID()}@example.com`,
        password: PASSWORD,
      });
      const start = () => services.sessions.start(user.id, { ip: '10.1.2.3', userAgent: 'test' });
      const [live, endedLongAgo, endedRecently, expiredLongAgo, expiredRecently] = [
        await start(),
        await start(),
        await start(),
        await start(),
        await start(),
      ];
      for (const s of [endedLongAgo, endedRecently])
        await services.sessions.revokeFamily(s.familyId);
      await age(endedLongAgo.familyId, 'ended_at', 31);
      await age(endedRecently.familyId, 'ended_at', 29);
      await age(expiredLongAgo.familyId, 'expires_at', 31);
      await age(expiredRecently.familyId, 'expires_at', 29);
      const goneTokens = await tokenHashes(endedLongAgo.familyId);
      goneTokens.push(...(await tokenHashes(expiredLongAgo.familyId)));

      await pruneAll();

      assert.deepEqual(
        await sessionIds(user.id),
        [live, endedRecently, expiredRecently].map((s) => s.familyId).sort(),
      );
      const left = await db()
        .selectFrom('refresh_tokens')
        .select('id')
        .where('token_hash', 'in', goneTokens)
        .execute();
      assert.deepEqual(left, [], 'their refresh tokens went with them');
      const next = await services.sessions.rotate(live.refreshToken);
      assert.equal(next.familyId, live.familyId, 'the live session goes on');
    });

    it('when a live session has spent tokens, then those past their own expiry go and the rest stay', async () => {
      const { services } = app;
      const admin = { userId: 'system', role: 'admin' as const };
      const user = await services.users.createUser(admin, {
        name: 'Spent',
        email: `s-${randomUUID()}@example.com`,
        password: PASSWORD,
      });
      const first = await services.sessions.start(user.id);
      const second = await services.sessions.rotate(first.refreshToken);
      const third = await services.sessions.rotate(second.refreshToken);
      // The first spent token is past its own expiry; the second is spent but not yet expired.
      await db()
        .updateTable('refresh_tokens')
        .set({ expires_at: sql`now() - interval '1 minute'` })
        .where('token_hash', '=', hashRefreshToken(first.refreshToken))
        .execute();

      await pruneAll();

      const hashes = await tokenHashes(first.familyId);
      assert.deepEqual(
        hashes.sort(),
        [second.refreshToken, third.refreshToken].map(hashRefreshToken).sort(),
      );
      // The spent one that is kept still gives a stolen copy away.
      await assert.rejects(services.sessions.rotate(second.refreshToken), {
        code: 'REFRESH_TOKEN_REUSED',
      });
    });

    it('when an admin-pages sign-in expired long ago, then it is pruned like any session', async () => {
      const { services } = app;
      const email = `a-${randomUUID()}@example.com`;
      const admin = await services.users.createUser(
        { userId: 'system', role: 'admin' },
        { name: 'Console', email, password: PASSWORD, role: 'admin' },
      );
      const before = new Set(await sessionIds(admin.id));
      const grant = await services.auth.loginFor(
        { userId: null, role: 'guest', ip: '10.9.9.9', userAgent: 'console' },
        { email, password: PASSWORD },
        'manage:queues',
      );
      assert.ok('accessToken' in grant && grant.accessToken);
      const started = (await sessionIds(admin.id)).filter((id) => !before.has(id));
      assert.equal(started.length, 1, 'the sign-in started a session');
      const row = await db()
        .selectFrom('sessions')
        .select('expires_at')
        .where('id', '=', started[0]!)
        .executeTakeFirstOrThrow();
      const accessTtlMs = loadConfig({}).jwtAccessTtlMs;
      assert.ok(
        row.expires_at.getTime() <= Date.now() + accessTtlMs,
        'it lasts no longer than its access token: nothing can refresh it',
      );
      await age(started[0]!, 'expires_at', 31);

      await pruneAll();

      assert.deepEqual(
        (await sessionIds(admin.id)).filter((id) => !before.has(id)),
        [],
      );
    });
  });
}
