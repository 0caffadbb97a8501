import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { buildPruner } from '../../src/composition/jobs.js';
import { loadConfig } from '../../src/config.js';
import { hashRefreshToken } from '../../src/platform/auth/tokens.js';
import { engines } from '../support/databases.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { RaceGate } from '../support/overlap.js';

interface Pair {
  accessToken: string;
  refreshToken: string;
}

function clients(app: () => StartedApp) {
  const refresh = (refreshToken: string) =>
    app().server.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
  const me = (token: string) =>
    app().server.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(token) });
  const sealedOf = async (refreshToken: string) => {
    const row = await app()
      .database.db.selectFrom('refresh_tokens')
      .select(['successor_ciphertext', 'used_at', 'revoked_at'])
      .where('token_hash', '=', hashRefreshToken(refreshToken))
      .executeTakeFirstOrThrow();
    return row;
  };
  return { refresh, me, sealedOf };
}

const code = (res: { json<T>(): T }) => res.json<{ error: { code: string } }>().error.code;
const pairOf = (res: { json<T>(): T }) => res.json<{ data: Pair }>().data;

for (const engine of engines) {
  describe(`refresh-token reuse grace on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    const { refresh, me, sealedOf } = clients(() => app);
    const refreshes = new RaceGate((req) => req.url === '/api/v1/auth/refresh');

    before(async () => {
      app = await startApp(engine, { beforeReady: refreshes.install });
    });
    after(() => app?.close());

    it('when two refreshes with one token race, then both get 200 with the same refresh token and the family goes on', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      refreshes.hold(2);
      const [a, b] = await Promise.all([
        refresh(session.refreshToken),
        refresh(session.refreshToken),
      ]);
      assert.equal(refreshes.maxInFlight, 2, 'both refreshes were in flight at once');
      assert.equal(a.statusCode, 200, a.body);
      assert.equal(b.statusCode, 200, b.body);
      const [first, second] = [pairOf(a), pairOf(b)];
      assert.equal(first.refreshToken, second.refreshToken);
      assert.notEqual(first.refreshToken, session.refreshToken);
      assert.notEqual(
        first.accessToken,
        second.accessToken,
        'each answer has its own access token',
      );
      assert.equal((await me(first.accessToken)).statusCode, 200);
      assert.equal((await me(second.accessToken)).statusCode, 200);

      const next = await refresh(first.refreshToken);
      assert.equal(next.statusCode, 200, next.body);
      assert.equal((await me(pairOf(next).accessToken)).statusCode, 200);
      assert.equal((await refresh(pairOf(next).refreshToken)).statusCode, 200);
    });

    it('when a spent token comes back within the window, then it gets the same successor', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const first = pairOf(await refresh(session.refreshToken));
      const again = await refresh(session.refreshToken);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(pairOf(again).refreshToken, first.refreshToken);
    });

    it('when a successor is sealed, then the row holds neither it nor anything that opens it', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const { refreshToken: successor } = pairOf(await refresh(session.refreshToken));
      const { successor_ciphertext: sealed } = await sealedOf(session.refreshToken);
      assert.ok(sealed, 'the spent row holds a sealed successor');
      const bytes = Buffer.from(sealed);
      assert.ok(!bytes.includes(Buffer.from(successor)), 'no plaintext successor');
      assert.ok(!bytes.includes(Buffer.from(successor, 'base64url')), 'no raw successor bytes');
      assert.ok(!bytes.includes(Buffer.from(hashRefreshToken(successor), 'hex')));
      assert.ok(!bytes.toString('latin1').includes(hashRefreshToken(successor)));
      assert.equal((await sealedOf(successor)).successor_ciphertext, null, 'unspent: none');
    });

    it('when the family is revoked within the window, then the spent token gets nothing', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const pair = pairOf(await refresh(session.refreshToken));
      const out = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(pair.accessToken),
      });
      assert.equal(out.statusCode, 204);
      const again = await refresh(session.refreshToken);
      assert.equal(again.statusCode, 401);
      assert.equal(code(again), 'INVALID_TOKEN');
      assert.equal((await sealedOf(session.refreshToken)).successor_ciphertext, null);
    });

    it('when a sealed successor is older than the longest window, then the pruner clears it and a reuse revokes', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const pair = pairOf(await refresh(session.refreshToken));
      const recent = await createUserAndLogin(app.server, app.services);
      await refresh(recent.refreshToken);
      await app.database.db
        .updateTable('refresh_tokens')
        .set({ used_at: sql<Date>`now() - interval '2 minutes'` })
        .where('token_hash', '=', hashRefreshToken(session.refreshToken))
        .execute();

      await buildPruner(loadConfig({}), app.database.db, app.server.log).pruneOnce();
      assert.equal((await sealedOf(session.refreshToken)).successor_ciphertext, null);
      assert.ok((await sealedOf(recent.refreshToken)).successor_ciphertext, 'within the window');

      const again = await refresh(session.refreshToken);
      assert.equal(again.statusCode, 401);
      assert.equal(code(again), 'REFRESH_TOKEN_REUSED');
      assert.equal((await refresh(pair.refreshToken)).statusCode, 401);
    });
  });

  describe(
    `refresh-token reuse after the grace window on ${engine.name}`,
    { skip: engine.skip },
    () => {
      const graceMs = 500;
      let app: StartedApp;
      const { refresh, me, sealedOf } = clients(() => app);

      before(async () => {
        app = await startApp(engine, { env: { JWT_REFRESH_REUSE_GRACE: `${graceMs}ms` } });
      });
      after(() => app?.close());

      it('when a spent token comes back after the window, then 401 REFRESH_TOKEN_REUSED and the family is revoked', async () => {
        const session = await createUserAndLogin(app.server, app.services);
        const pair = pairOf(await refresh(session.refreshToken));
        assert.ok((await sealedOf(session.refreshToken)).successor_ciphertext);
        // The window ends on the database's clock: move the use back past it instead of waiting.
        await app.database.db
          .updateTable('refresh_tokens')
          .set({ used_at: sql<Date>`used_at - make_interval(secs => ${(graceMs + 300) / 1000})` })
          .where('token_hash', '=', hashRefreshToken(session.refreshToken))
          .execute();

        const again = await refresh(session.refreshToken);
        assert.equal(again.statusCode, 401);
        assert.equal(code(again), 'REFRESH_TOKEN_REUSED');
        const row = await sealedOf(session.refreshToken);
        assert.equal(row.successor_ciphertext, null, 'cleared once read after the window');
        assert.ok(row.revoked_at);

        const successor = await refresh(pair.refreshToken);
        assert.equal(successor.statusCode, 401);
        assert.equal(code(successor), 'INVALID_TOKEN');
        const res = await me(pair.accessToken);
        assert.equal(res.statusCode, 401);
        assert.equal(code(res), 'INVALID_TOKEN');
      });
    },
  );
}
