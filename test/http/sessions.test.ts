import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { REVOCATION_MIRROR } from '../../src/platform/auth/revocations.js';
import { startTwoApps, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { codesOf, graphql } from '../support/graphql.js';
import { RaceGate } from '../support/overlap.js';
import { redisSkip } from '../support/redis.js';
import { eventually } from '../support/time.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const skip = engine.skip ?? redisSkip;

interface SignedIn {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

interface ListedSession {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

const PASSWORD = 'correct horse battery';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const CURL = 'curl/8.5.0';

/** The `sid` claim: the session the access token belongs to. */
function sidOf(accessToken: string): string {
  const payload = Buffer.from(accessToken.split('.')[1]!, 'base64url').toString();
  return (JSON.parse(payload) as { sid: string }).sid;
}

const code = (res: { json<T>(): T }) => res.json<{ error: { code: string } }>().error.code;

describe('sessions a user sees and ends (PostgreSQL + Redis)', { skip }, () => {
  let first: StartedApp;
  let second: StartedApp;
  let close: () => Promise<void>;
  const gate = new RaceGate(
    (req) => req.url === '/api/v1/auth/refresh' || req.url.includes('/sessions/'),
  );

  before(async () => {
    // No grace: a spent refresh token that comes back is a reuse at once.
    ({ first, second, close } = await startTwoApps(engine, {
      beforeReady: gate.install,
      env: { JWT_REFRESH_REUSE_GRACE: '0' },
    }));
  });
  after(() => close());

  const server = () => first.server;

  async function newUser(role: 'user' | 'admin' = 'user') {
    const email = `s-${randomUUID()}@example.com`;
    const admin = { userId: 'system', role: 'admin' as const };
    const user = await first.services.users.createUser(admin, {
      name: 'Sessions',
      email,
      password: PASSWORD,
      role,
    });
    return { id: user.id, email };
  }

  async function signIn(
    email: string,
    userAgent = FIREFOX,
    ip = `10.77.${Math.floor(Math.random() * 255)}.${1 + Math.floor(Math.random() * 254)}`,
  ): Promise<SignedIn> {
    const res = await server().inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: PASSWORD },
      headers: { 'user-agent': userAgent },
      remoteAddress: ip,
    });
    assert.equal(res.statusCode, 200, res.body);
    const { accessToken, refreshToken } = res.json<{ data: SignedIn }>().data;
    return { accessToken, refreshToken, sessionId: sidOf(accessToken) };
  }

  const refresh = (refreshToken: string, app: FastifyInstance = server()) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
  const me = (token: string, app: FastifyInstance = server()) =>
    app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(token) });
  const list = (token: string, userId = 'me') =>
    server().inject({
      method: 'GET',
      url: `/api/v1/users/${userId}/sessions`,
      headers: bearer(token),
    });
  const listed = async (token: string, userId = 'me') => {
    const res = await list(token, userId);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ data: ListedSession[]; meta: { totalCount: number } }>();
  };
  const end = (token: string, sessionId: string, userId = 'me') =>
    server().inject({
      method: 'DELETE',
      url: `/api/v1/users/${userId}/sessions/${sessionId}`,
      headers: bearer(token),
    });
  const logoutAll = (token: string, body?: object) =>
    server().inject({
      method: 'POST',
      url: '/api/v1/auth/logout-all',
      headers: bearer(token),
      ...(body ? { payload: body } : {}),
    });
  const sessionRow = (id: string) =>
    first.database.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  /** Refused everywhere: the refresh token, and the access token in both processes. */
  async function assertDead(session: SignedIn) {
    assert.equal((await me(session.accessToken)).statusCode, 401, 'refused where it was ended');
    await eventually(
      async () => (await me(session.accessToken, second.server)).statusCode === 401,
      {
        what: 'the other process refusing the ended session',
        timeoutMs: REVOCATION_MIRROR.staleAfterMs * 3,
        intervalMs: 5,
      },
    );
    const again = await refresh(session.refreshToken);
    assert.equal(again.statusCode, 401, again.body);
  }

  it('when a user signs in from two browsers, then both are listed, newest use first, the asking one current', async () => {
    const user = await newUser();
    const a = await signIn(user.email, FIREFOX, '10.77.1.1');
    const b = await signIn(user.email, CURL, '10.77.1.2');

    const fromA = await listed(a.accessToken);
    assert.equal(fromA.meta.totalCount, 2);
    assert.deepEqual(
      fromA.data.map((s) => [s.id, s.userAgent, s.ip, s.current]),
      [
        [b.sessionId, CURL, '10.77.1.2', false],
        [a.sessionId, FIREFOX, '10.77.1.1', true],
      ],
    );
    for (const s of fromA.data) {
      assert.ok(Date.parse(s.expiresAt) > Date.parse(s.lastUsedAt));
      assert.ok(Date.parse(s.lastUsedAt) >= Date.parse(s.createdAt));
    }

    // A refresh is a use: A comes first now, and B is current when B asks.
    const refreshed = await refresh(a.refreshToken);
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    const fromB = await listed(b.accessToken, user.id);
    assert.deepEqual(
      fromB.data.map((s) => [s.id, s.current]),
      [
        [a.sessionId, false],
        [b.sessionId, true],
      ],
    );
    const list = await server().inject({
      method: 'GET',
      url: '/api/v1/users/me/sessions',
      headers: bearer(b.accessToken),
    });
    assert.equal(list.headers['cache-control'], 'no-store');
  });

  it('when a user ends one session, then its refresh and access tokens are refused at once in every process and the other goes on', async () => {
    const user = await newUser();
    const a = await signIn(user.email, FIREFOX);
    const b = await signIn(user.email, CURL);
    assert.equal((await me(b.accessToken, second.server)).statusCode, 200);

    const res = await end(a.accessToken, b.sessionId);
    assert.equal(res.statusCode, 204, res.body);
    await assertDead(b);

    assert.equal((await me(a.accessToken)).statusCode, 200);
    assert.equal((await me(a.accessToken, second.server)).statusCode, 200);
    const next = await refresh(a.refreshToken);
    assert.equal(next.statusCode, 200, next.body);
    assert.deepEqual(
      (await listed(a.accessToken)).data.map((s) => s.id),
      [a.sessionId],
    );
    const row = await sessionRow(b.sessionId);
    assert.equal(row.end_reason, 'ended');
    assert.ok(row.ended_at);

    const twice = await end(a.accessToken, b.sessionId);
    assert.equal(twice.statusCode, 404);
    assert.equal(code(twice), 'SESSION_NOT_FOUND');
  });

  it('when a user logs out everywhere, then every session ends, the current one too', async () => {
    const user = await newUser();
    const sessions = [
      await signIn(user.email),
      await signIn(user.email, CURL),
      await signIn(user.email),
    ];
    const res = await logoutAll(sessions[0]!.accessToken);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ data: { endedSessions: number } }>().data.endedSessions, 3);
    for (const session of sessions) await assertDead(session);
    assert.equal((await sessionRow(sessions[1]!.sessionId)).end_reason, 'logout-all');
  });

  it('when a user logs out everywhere but here, then the others end and the current one goes on', async () => {
    const user = await newUser();
    const [a, b, c] = [
      await signIn(user.email),
      await signIn(user.email, CURL),
      await signIn(user.email),
    ];
    const res = await logoutAll(a.accessToken, { keepCurrent: true });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ data: { endedSessions: number } }>().data.endedSessions, 2);
    await assertDead(b);
    await assertDead(c);
    assert.equal((await me(a.accessToken, second.server)).statusCode, 200);
    assert.equal((await refresh(a.refreshToken)).statusCode, 200);
    assert.deepEqual(
      (await listed(a.accessToken)).data.map((s) => [s.id, s.current]),
      [[a.sessionId, true]],
    );
  });

  it('when logout-all gets a body that is not its own, then 400 and nothing ends', async () => {
    const user = await newUser();
    const a = await signIn(user.email);
    const res = await logoutAll(a.accessToken, { keepCurrent: 'yes', everything: true });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal((await me(a.accessToken)).statusCode, 200);
  });

  it("when a user asks for or ends another user's sessions, then 404, and the sessions go on", async () => {
    const owner = await newUser();
    const stranger = await newUser();
    const theirs = await signIn(owner.email);
    const mine = await signIn(stranger.email);

    const read = await list(mine.accessToken, owner.id);
    assert.equal(read.statusCode, 404);
    const byPath = await end(mine.accessToken, theirs.sessionId, owner.id);
    assert.equal(byPath.statusCode, 404);
    // Their session id under one's own user: not one of one's sessions.
    const underMine = await end(mine.accessToken, theirs.sessionId);
    assert.equal(underMine.statusCode, 404);
    assert.equal(code(underMine), 'SESSION_NOT_FOUND');
    const all = await server().inject({
      method: 'DELETE',
      url: `/api/v1/users/${owner.id}/sessions`,
      headers: bearer(mine.accessToken),
    });
    assert.equal(all.statusCode, 404);

    assert.equal((await me(theirs.accessToken)).statusCode, 200);
    assert.equal((await refresh(theirs.refreshToken)).statusCode, 200);
  });

  it("when an admin lists and ends a user's sessions, then they may, and the user's tokens are refused", async () => {
    const admin = await newUser('admin');
    const adminSession = await signIn(admin.email);
    const user = await newUser();
    const one = await signIn(user.email);
    const two = await signIn(user.email, CURL);
    const three = await signIn(user.email);

    const seen = await listed(adminSession.accessToken, user.id);
    assert.deepEqual(
      seen.data.map((s) => [s.id, s.current]),
      [
        [three.sessionId, false],
        [two.sessionId, false],
        [one.sessionId, false],
      ],
    );
    const res = await end(adminSession.accessToken, one.sessionId, user.id);
    assert.equal(res.statusCode, 204, res.body);
    await assertDead(one);
    assert.equal((await sessionRow(one.sessionId)).end_reason, 'ended-by-admin');

    const all = await server().inject({
      method: 'DELETE',
      url: `/api/v1/users/${user.id}/sessions`,
      headers: bearer(adminSession.accessToken),
    });
    assert.equal(all.statusCode, 200, all.body);
    assert.equal(all.json<{ data: { endedSessions: number } }>().data.endedSessions, 2);
    await assertDead(two);
    await assertDead(three);
    assert.equal((await me(adminSession.accessToken)).statusCode, 200, "the admin's own goes on");
  });

  it('when a session is ended and refreshed at the same moment, then no token of it survives', async () => {
    const user = await newUser();
    const keeper = await signIn(user.email);
    for (let round = 0; round < 5; round++) {
      const target = await signIn(user.email, CURL);
      gate.hold(2);
      const [refreshed, ended] = await Promise.all([
        refresh(target.refreshToken),
        end(keeper.accessToken, target.sessionId),
      ]);
      assert.equal(gate.maxInFlight, 2, 'both requests were in flight at once');
      assert.equal(ended.statusCode, 204, ended.body);
      assert.ok([200, 401].includes(refreshed.statusCode), refreshed.body);
      await assertDead(target);
      if (refreshed.statusCode === 200) {
        const pair = refreshed.json<{ data: SignedIn }>().data;
        await assertDead({ ...pair, sessionId: target.sessionId });
      }
      const live = await first.database.db
        .selectFrom('refresh_tokens')
        .select('id')
        .where('family_id', '=', target.sessionId)
        .where('revoked_at', 'is', null)
        .where('used_at', 'is', null)
        .execute();
      const row = await sessionRow(target.sessionId);
      assert.ok(row.ended_at, 'the session is ended');
      // A token written in the instant of the end may keep revoked_at empty; the ended session
      // refuses it all the same (assertDead above), which is what matters.
      assert.ok(live.length <= 1);
    }
    assert.equal((await me(keeper.accessToken)).statusCode, 200);
  });

  it('when a spent refresh token comes back, then its session is ended as reuse-detected', async () => {
    const user = await newUser();
    const session = await signIn(user.email);
    const next = await refresh(session.refreshToken);
    assert.equal(next.statusCode, 200, next.body);
    const reused = await refresh(session.refreshToken);
    assert.equal(reused.statusCode, 401);
    assert.equal(code(reused), 'REFRESH_TOKEN_REUSED');

    const row = await sessionRow(session.sessionId);
    assert.equal(row.end_reason, 'reuse-detected');
    assert.ok(row.ended_at);
    await assertDead({ ...next.json<{ data: SignedIn }>().data, sessionId: session.sessionId });
    const other = await signIn(user.email);
    assert.deepEqual(
      (await listed(other.accessToken)).data.map((s) => s.id),
      [other.sessionId],
    );
  });

  it('when a user logs out, then the session is ended as logout and leaves the list', async () => {
    const user = await newUser();
    const a = await signIn(user.email);
    const b = await signIn(user.email);
    const res = await server().inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(b.accessToken),
    });
    assert.equal(res.statusCode, 204);
    assert.equal((await sessionRow(b.sessionId)).end_reason, 'logout');
    assert.deepEqual(
      (await listed(a.accessToken)).data.map((s) => s.id),
      [a.sessionId],
    );
    await assertDead(b);
  });

  it('when a password changes, then every session ends as password-changed', async () => {
    const created = await createUserAndLogin(first.server, first.services);
    const session = { ...created, sessionId: sidOf(created.accessToken) };
    const res = await server().inject({
      method: 'PATCH',
      url: '/api/v1/users/me',
      headers: bearer(created.accessToken),
      payload: { password: 'a new and longer passphrase', currentPassword: created.password },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await sessionRow(session.sessionId)).end_reason, 'password-changed');
    await assertDead(session);
  });

  it('when sessions are read and ended over GraphQL, then it is the same as REST', async () => {
    const user = await newUser();
    const a = await signIn(user.email, FIREFOX);
    const b = await signIn(user.email, CURL);
    const c = await signIn(user.email, CURL);
    const read = await graphql<{ me: { sessions: { id: string; current: boolean }[] } }>(
      server(),
      '{ me { sessions { id current userAgent } } }',
      { token: a.accessToken },
    );
    assert.deepEqual(codesOf(read.body), []);
    assert.deepEqual(
      read.body.data!.me.sessions.map((s) => [s.id, s.current]),
      [
        [c.sessionId, false],
        [b.sessionId, false],
        [a.sessionId, true],
      ],
    );

    const ended = await graphql(
      server(),
      'mutation($u: ID!, $s: ID!) { endSession(userId: $u, sessionId: $s) }',
      { token: a.accessToken, variables: { u: user.id, s: b.sessionId } },
    );
    assert.deepEqual(ended.body.data, { endSession: true });
    await assertDead(b);

    const all = await graphql(server(), 'mutation { logoutAll(keepCurrent: true) }', {
      token: a.accessToken,
    });
    assert.deepEqual(all.body.data, { logoutAll: 1 });
    await assertDead(c);
    const left = await graphql<{ sessions: { id: string }[] }>(server(), '{ sessions { id } }', {
      token: a.accessToken,
    });
    assert.deepEqual(left.body.data, { sessions: [{ id: a.sessionId }] });
  });
});
