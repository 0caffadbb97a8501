import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { engines } from '../support/databases.js';
import { startApp, TEST_JWT_SECRET, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, login, type TestUser } from '../support/auth.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const secret = new TextEncoder().encode(TEST_JWT_SECRET);

interface Claims {
  iss?: string;
  aud?: string;
  iat?: number;
  exp?: number;
  sub?: string;
}

/** Well-formed claims unless told otherwise, so each test fails for the one reason it names. */
function forge(user: TestUser, claims: Claims, alg = 'HS256', key = secret) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'admin', sid: randomUUID() })
    .setProtectedHeader({ alg })
    .setSubject(claims.sub ?? user.id)
    .setJti(randomUUID())
    .setIssuedAt(claims.iat ?? now - 10)
    .setIssuer(claims.iss ?? 'stratum')
    .setAudience(claims.aud ?? 'stratum-api')
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(key);
}

const TTL_S = 15 * 60;
const SKEW_S = 30;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access and refresh tokens', { skip: engine.skip }, () => {
  let app: StartedApp;
  let user: TestUser;

  before(async () => {
    // Every reuse of a spent refresh token revokes here; the grace window has its own suite.
    app = await startApp(engine, { env: { JWT_REFRESH_REUSE_GRACE: '0' } });
    user = await createUserAndLogin(app.server, app.services);
  });
  after(() => app.close());

  const me = (headers: Record<string, string> = {}) =>
    app.server.inject({ method: 'GET', url: '/api/v1/users/me', headers });

  async function expect401(headers: Record<string, string>, code: string) {
    const res = await me(headers);
    assert.equal(res.statusCode, 401, res.body);
    assert.equal(res.json<{ error: { code: string } }>().error.code, code);
    assert.equal(res.headers['www-authenticate'], 'Bearer');
  }

  it('when the token is valid, then the route answers', async () => {
    const res = await me(bearer(user.accessToken));
    assert.equal(res.statusCode, 200);
    assert.equal(res.json<{ data: { id: string } }>().data.id, user.id);
  });

  it('when no token is sent to a protected route, then 401 UNAUTHORIZED', () =>
    expect401({}, 'UNAUTHORIZED'));

  it('when the header is not a Bearer token, then 401 INVALID_TOKEN', () =>
    expect401({ authorization: 'Basic dXNlcjpwYXNz' }, 'INVALID_TOKEN'));

  it('when alg is none, then 401 INVALID_TOKEN', async () => {
    const [, payload] = user.accessToken.split('.');
    const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    await expect401(bearer(token), 'INVALID_TOKEN');
  });

  it('when the token uses another algorithm, then 401 INVALID_TOKEN', async () =>
    expect401(bearer(await forge(user, {}, 'HS512')), 'INVALID_TOKEN'));

  it('when the token is signed with another key, then 401 INVALID_TOKEN', async () => {
    const key = new TextEncoder().encode('another-secret-that-is-also-32-bytes-long');
    await expect401(bearer(await forge(user, {}, 'HS256', key)), 'INVALID_TOKEN');
  });

  it('when the issuer is wrong, then 401 INVALID_TOKEN', async () =>
    expect401(bearer(await forge(user, { iss: 'evil' })), 'INVALID_TOKEN'));

  it('when the audience is wrong, then 401 INVALID_TOKEN', async () =>
    expect401(bearer(await forge(user, { aud: 'other-api' })), 'INVALID_TOKEN'));

  it('when the token has expired, then 401 TOKEN_EXPIRED', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    await expect401(bearer(await forge(user, { exp: past })), 'TOKEN_EXPIRED');
  });

  it('when a correctly signed token has a sub that is not a UUID, then 401 INVALID_TOKEN', async () =>
    expect401(bearer(await forge(user, { sub: 'not-a-uuid' })), 'INVALID_TOKEN'));

  it('when a correctly signed token has an upper-case UUID sub, then 401 INVALID_TOKEN', async () =>
    expect401(bearer(await forge(user, { sub: user.id.toUpperCase() })), 'INVALID_TOKEN'));

  it('when iat lies in the future beyond the clock skew, then 401 INVALID_TOKEN', async () => {
    const iat = Math.floor(Date.now() / 1000) + SKEW_S + 60;
    await expect401(bearer(await forge(user, { iat, exp: iat + 600 })), 'INVALID_TOKEN');
  });

  it('when a token with exp far beyond the TTL is older than TTL plus skew, then 401 TOKEN_EXPIRED', async () => {
    const now = Math.floor(Date.now() / 1000);
    const iat = now - TTL_S - SKEW_S - 5;
    const exp = now + 365 * 86_400;
    await expect401(bearer(await forge(user, { iat, exp })), 'TOKEN_EXPIRED');
  });

  it('when a token is issued, then its payload carries no email', () => {
    const payload = JSON.parse(
      Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    assert.equal(payload.sub, user.id);
    assert.ok(!('email' in payload), JSON.stringify(payload));
    assert.ok(!JSON.stringify(payload).includes(user.email));
  });

  it('when the signature is tampered with, then 401 INVALID_TOKEN', async () => {
    const [header, payload] = user.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as object;
    const elevated = base64url({ ...claims, role: 'admin' });
    await expect401(
      bearer(`${header}.${elevated}.${user.accessToken.split('.')[2]}`),
      'INVALID_TOKEN',
    );
  });

  describe('no caching of auth answers', () => {
    const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
      app.server.inject({ method: 'POST', url: `/api/v1/auth/${url}`, payload, headers });

    function assertNoStore(res: { statusCode: number; headers: Record<string, unknown> }) {
      assert.equal(res.headers['cache-control'], 'no-store', `status ${res.statusCode}`);
      assert.equal(res.headers.pragma, 'no-cache', `status ${res.statusCode}`);
    }

    it('when a login succeeds or fails, then the answer is not to be stored', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const good = await post('login', { email: session.email, password: session.password });
      assert.equal(good.statusCode, 200);
      assertNoStore(good);
      const wrong = await post('login', { email: session.email, password: 'not the password' });
      assert.equal(wrong.statusCode, 401);
      assertNoStore(wrong);
      const invalid = await post('login', { email: session.email });
      assert.equal(invalid.statusCode, 400);
      assertNoStore(invalid);
    });

    it('when a refresh succeeds or fails, then the answer is not to be stored', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const good = await post('refresh', { refreshToken: session.refreshToken });
      assert.equal(good.statusCode, 200);
      assertNoStore(good);
      const unknown = await post('refresh', { refreshToken: 'not-a-real-token' });
      assert.equal(unknown.statusCode, 401);
      assertNoStore(unknown);
    });

    it('when registering or logging out, then the answer is not to be stored', async () => {
      const registered = await post('register', {
        name: 'No Store',
        email: `n-${randomUUID()}@example.com`,
        password: 'correct horse battery',
      });
      assert.equal(registered.statusCode, 201, registered.body);
      assertNoStore(registered);
      const session = await createUserAndLogin(app.server, app.services);
      const out = await post('logout', {}, bearer(session.accessToken));
      assert.equal(out.statusCode, 204, out.body);
      assertNoStore(out);
      assertNoStore(await post('logout', {}));
    });

    it('when another route answers, then the auth hook leaves its caching alone', async () => {
      const res = await me(bearer(user.accessToken));
      assert.equal(res.statusCode, 200);
      assert.notEqual(res.headers['cache-control'], 'no-store');
    });
  });

  describe('refresh rotation with the reuse grace off', () => {
    const refresh = (refreshToken: string) =>
      app.server.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });

    it('when a refresh token is spent, then it gives a new pair and works only once', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const first = await refresh(session.refreshToken);
      assert.equal(first.statusCode, 200);
      const pair = first.json<{ data: { accessToken: string; refreshToken: string } }>().data;
      assert.notEqual(pair.refreshToken, session.refreshToken);
      assert.equal((await me(bearer(pair.accessToken))).statusCode, 200);
      const again = await refresh(session.refreshToken);
      assert.equal(again.statusCode, 401);
      assert.equal(again.json<{ error: { code: string } }>().error.code, 'REFRESH_TOKEN_REUSED');
    });

    it('when a used token is replayed, then the whole family and its access tokens are revoked', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const pair = (await refresh(session.refreshToken)).json<{
        data: { accessToken: string; refreshToken: string };
      }>().data;
      await refresh(session.refreshToken); // the replay
      assert.equal((await refresh(pair.refreshToken)).statusCode, 401);
      await expect401(bearer(pair.accessToken), 'INVALID_TOKEN');
      // Another login of the same user is another family and keeps working.
      const fresh = await login(app.server, session.email, session.password);
      assert.equal((await me(bearer(fresh.accessToken))).statusCode, 200);
    });

    it('when two refreshes of one token race, then at most one succeeds', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const results = await Promise.all([
        refresh(session.refreshToken),
        refresh(session.refreshToken),
      ]);
      const ok = results.filter((r) => r.statusCode === 200).length;
      assert.ok(ok <= 1, `both refreshes succeeded`);
      assert.ok(results.every((r) => [200, 401].includes(r.statusCode)));
    });

    it('when the token is unknown, then 401 INVALID_TOKEN', async () => {
      const res = await refresh('not-a-real-token');
      assert.equal(res.statusCode, 401);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'INVALID_TOKEN');
    });
  });

  describe('revocation', () => {
    it('when a user logs out, then its refresh token and access token stop working at once', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const out = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(session.accessToken),
      });
      assert.equal(out.statusCode, 204);
      await expect401(bearer(session.accessToken), 'INVALID_TOKEN');
      const res = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: session.refreshToken },
      });
      assert.equal(res.statusCode, 401);
    });

    it('when the password changes, then every session of the user ends', async () => {
      const session = await createUserAndLogin(app.server, app.services);
      const second = await login(app.server, session.email, session.password);
      const res = await app.server.inject({
        method: 'PATCH',
        url: `/api/v1/users/${session.id}`,
        headers: bearer(session.accessToken),
        payload: { password: 'a brand new password', currentPassword: session.password },
      });
      assert.equal(res.statusCode, 200, res.body);
      await expect401(bearer(session.accessToken), 'INVALID_TOKEN');
      await expect401(bearer(second.accessToken), 'INVALID_TOKEN');
      const fresh = await login(app.server, session.email, 'a brand new password');
      assert.equal((await me(bearer(fresh.accessToken))).statusCode, 200);
    });

    it('when an admin suspends a user, then its tokens stop working and it cannot log in', async () => {
      const admin = await createUserAndLogin(app.server, app.services, 'admin');
      const session = await createUserAndLogin(app.server, app.services);
      const res = await app.server.inject({
        method: 'PATCH',
        url: `/api/v1/users/${session.id}`,
        headers: bearer(admin.accessToken),
        payload: { status: 'suspended' },
      });
      assert.equal(res.statusCode, 200);
      await expect401(bearer(session.accessToken), 'INVALID_TOKEN');
      const again = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: session.email, password: session.password },
      });
      assert.equal(again.statusCode, 403);
      assert.equal(again.json<{ error: { code: string } }>().error.code, 'ACCOUNT_SUSPENDED');
    });
  });
});
