import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateSync } from 'otplib';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { openRedis, redisSkip } from '../support/redis.js';
import { eventually } from '../support/time.js';

/**
 * ADMIN_TWO_FACTOR=required: an admin without two-factor signs in only to enrol (a token the
 * enrolment routes alone take, refused everywhere else by the authentication layer), and the
 * admin pages refuse them; an enrolled admin passes the code step, in the API and in the pages.
 */

const engine = engines.find((e) => e.name === 'postgres')!;
const skip = engine.skip ?? redisSkip;
const HOST = 'admin.test';
const SITE = `http://${HOST}`;

const codeAt = (secret: string, steps = 0) =>
  generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });
const errorCode = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('two-factor required for admins (PostgreSQL + Redis)', { skip }, () => {
  let app: StartedApp;
  const redis = skip ? undefined : openRedis();
  const password = 'admin two factor password';

  before(async () => {
    app = await startApp(engine, {
      redis,
      env: { ADMIN_TWO_FACTOR: 'required', TWO_FACTOR_WINDOW: '2' },
    });
  });
  after(async () => {
    await app.close();
    redis?.disconnect();
  });

  async function newAdmin() {
    const email = `a-${randomUUID()}@example.com`;
    const system = { userId: randomUUID(), role: 'admin' as const };
    const user = await app.services.users.createUser(system, {
      name: 'Admin',
      email,
      password,
      role: 'admin',
    });
    return { id: user.id, email };
  }

  const login = (email: string) =>
    app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password },
    });

  async function enrolmentTokenOf(email: string) {
    const res = await login(email);
    assert.equal(res.statusCode, 200, res.body);
    const data = res.json<{ data: Record<string, unknown> }>().data;
    assert.equal(data.twoFactorEnrolmentRequired, true);
    assert.equal(data.accessToken, undefined);
    return data.enrolmentToken as string;
  }

  async function enrol(token: string) {
    const started = await app.server.inject({
      method: 'POST',
      url: '/api/v1/users/me/two-factor',
      headers: bearer(token),
    });
    assert.equal(started.statusCode, 201, started.body);
    const { secret } = started.json<{ data: { secret: string } }>().data;
    const confirmed = await app.server.inject({
      method: 'POST',
      url: '/api/v1/users/me/two-factor/confirm',
      headers: bearer(token),
      payload: { code: codeAt(secret, -2) },
    });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    return secret;
  }

  it('when an unenrolled admin signs in, then the enrolment token opens no route but enrolment', async () => {
    const admin = await newAdmin();
    const token = await enrolmentTokenOf(admin.email);
    const refused = [
      ['GET', '/api/v1/users/me'],
      ['GET', '/api/v1/users'],
      ['GET', `/api/v1/users/${admin.id}`],
      ['POST', '/api/v1/auth/logout'],
      ['GET', '/api/v1/products'],
      ['DELETE', `/api/v1/users/${admin.id}/two-factor`],
      ['POST', '/graphql'],
      ['GET', '/admin/queues'],
    ] as const;
    for (const [method, url] of refused) {
      const res = await app.server.inject({
        method,
        url,
        headers: { ...bearer(token), host: HOST },
        ...(url === '/graphql' ? { payload: { query: '{ me { id } }' } } : {}),
      });
      assert.equal(res.statusCode, 401, `${method} ${url}: ${res.body}`);
    }
    // Nor as the admin pages' cookie.
    const cookie = await app.server.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { cookie: `stratum_admin=${token}`, host: HOST, accept: 'application/json' },
    });
    assert.equal(cookie.statusCode, 401);
    // It acts as a plain user on its own account only: another's state is not shown.
    const other = await newAdmin();
    const othersState = await app.server.inject({
      method: 'GET',
      url: `/api/v1/users/${other.id}/two-factor`,
      headers: bearer(token),
    });
    assert.equal(othersState.statusCode, 404);
    const own = await app.server.inject({
      method: 'GET',
      url: '/api/v1/users/me/two-factor',
      headers: bearer(token),
    });
    assert.equal(own.statusCode, 200, own.body);
  });

  it('when the admin has enrolled, then sign-in takes the code and gives an admin session', async () => {
    const admin = await newAdmin();
    const secret = await enrol(await enrolmentTokenOf(admin.email));
    const res = await login(admin.email);
    const { stepToken } = res.json<{ data: { stepToken: string } }>().data;
    assert.ok(stepToken);
    const done = await app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/login/two-factor',
      payload: { stepToken, code: codeAt(secret, 0) },
    });
    assert.equal(done.statusCode, 200, done.body);
    const { accessToken } = done.json<{ data: { accessToken: string } }>().data;
    const users = await app.server.inject({
      method: 'GET',
      url: '/api/v1/users',
      headers: bearer(accessToken),
    });
    assert.equal(users.statusCode, 200);
  });

  it("when an admin's session predates the requirement, then refresh is refused and the session ends", async () => {
    const admin = await newAdmin();
    const session = await app.services.sessions.start(admin.id);
    const { token } = await app.services.tokens.sign(
      { id: admin.id, role: 'admin' },
      session.familyId,
    );
    const me = () =>
      app.server.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(token) });
    assert.equal((await me()).statusCode, 200);
    const res = await app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: session.refreshToken },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(errorCode(res.body), 'TWO_FACTOR_ENROLMENT_REQUIRED');
    await eventually(async () => assert.equal((await me()).statusCode, 401), {
      what: "the session's access token refused",
    });
  });

  it('when a plain user signs in, then the requirement does not apply', async () => {
    const email = `u-${randomUUID()}@example.com`;
    await app.services.users.createUser(
      { userId: randomUUID(), role: 'admin' },
      { name: 'U', email, password, role: 'user' },
    );
    const res = await login(email);
    assert.ok(res.json<{ data: { accessToken?: string } }>().data.accessToken);
  });

  describe('the admin pages', () => {
    const post = (url: string, fields: Record<string, string>) =>
      app.server.inject({
        method: 'POST',
        url,
        headers: {
          host: HOST,
          origin: SITE,
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: form(fields),
      });

    it('when an unenrolled admin uses the form, then it is refused with what to do', async () => {
      const admin = await newAdmin();
      const res = await post('/admin/login', { email: admin.email, password });
      assert.equal(res.statusCode, 403);
      assert.match(res.body, /must use two-factor sign-in and has not enrolled/);
      assert.equal(res.headers['set-cookie'], undefined);
    });

    it('when an enrolled admin uses the form, then a second step asks for the code', async () => {
      const admin = await newAdmin();
      const secret = await enrol(await enrolmentTokenOf(admin.email));
      const first = await post('/admin/login', { email: admin.email, password });
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.headers['set-cookie'], undefined);
      const stepToken = /name="stepToken" value="([^"]+)"/.exec(first.body)?.[1];
      assert.ok(stepToken, 'the step token in a hidden field');

      const wrong = await post('/admin/login/two-factor', {
        stepToken,
        code: codeAt(secret, 9),
      });
      assert.equal(wrong.statusCode, 401);
      assert.match(wrong.body, /The code is wrong/);

      const done = await post('/admin/login/two-factor', { stepToken, code: codeAt(secret, 0) });
      assert.equal(done.statusCode, 303, done.body);
      const cookie = [done.headers['set-cookie'] ?? []]
        .flat()
        .find((c) => c.startsWith('stratum_admin='));
      assert.ok(cookie);
      const dashboard = await app.server.inject({
        method: 'GET',
        url: '/admin/queues',
        headers: { host: HOST, cookie: cookie.split(';')[0]!, accept: 'application/json' },
      });
      assert.equal(dashboard.statusCode, 200);

      const spent = await post('/admin/login/two-factor', { stepToken, code: codeAt(secret, 1) });
      assert.equal(spent.statusCode, 401);
      assert.match(spent.body, /Sign in again/);
    });

    it('when an enrolled admin gives a recovery code in the form, then it signs in', async () => {
      const admin = await newAdmin();
      const token = await enrolmentTokenOf(admin.email);
      const started = await app.server.inject({
        method: 'POST',
        url: '/api/v1/users/me/two-factor',
        headers: bearer(token),
      });
      const { secret } = started.json<{ data: { secret: string } }>().data;
      const confirmed = await app.server.inject({
        method: 'POST',
        url: '/api/v1/users/me/two-factor/confirm',
        headers: bearer(token),
        payload: { code: codeAt(secret) },
      });
      const [recovery] = confirmed.json<{ data: { recoveryCodes: string[] } }>().data.recoveryCodes;
      const first = await post('/admin/login', { email: admin.email, password });
      const stepToken = /name="stepToken" value="([^"]+)"/.exec(first.body)![1]!;
      const done = await post('/admin/login/two-factor', { stepToken, code: recovery! });
      assert.equal(done.statusCode, 303, done.body);
    });
  });
});
