import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { engines } from '../support/databases.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const code = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;

describe('register, login and account rules', { skip: engine.skip }, () => {
  let app: StartedApp;
  const adminEmail = `first-admin-${randomUUID()}@example.com`;

  before(async () => {
    app = await startApp(engine, {
      env: {
        ADMIN_EMAIL: adminEmail,
        ADMIN_PASSWORD: 'first admin password',
        LOGIN_MAX_FAILURES: '3',
      },
    });
  });
  after(() => app.close());

  const post = (url: string, payload: object, headers = {}) =>
    app.server.inject({ method: 'POST', url, payload, headers });

  it('when someone registers, then the account has the user role and no password hash is shown', async () => {
    const email = `reg-${randomUUID()}@example.com`;
    const res = await post('/api/v1/auth/register', {
      name: 'Reg',
      email,
      password: 'registered password',
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json<{ data: { role: string } }>().data.role, 'user');
    assert.doesNotMatch(res.body, /argon2|password/i);
    const loggedIn = await post('/api/v1/auth/login', { email, password: 'registered password' });
    assert.equal(loggedIn.statusCode, 200);
    const data = loggedIn.json<{ data: { user: { email: string; role: string } } }>().data;
    assert.deepEqual({ email: data.user.email, role: data.user.role }, { email, role: 'user' });
    assert.doesNotMatch(loggedIn.body, /argon2/);
  });

  it('when registration tries to choose a role, then it is refused', async () => {
    const res = await post('/api/v1/auth/register', {
      name: 'Sneaky',
      email: `sneaky-${randomUUID()}@example.com`,
      password: 'long enough password',
      role: 'admin',
    });
    assert.equal(res.statusCode, 400);
  });

  it('when the password is shorter than 8 or longer than 128, then 400', async () => {
    for (const password of ['short', 'x'.repeat(129)]) {
      const res = await post('/api/v1/auth/register', {
        name: 'P',
        email: `p-${randomUUID()}@example.com`,
        password,
      });
      assert.equal(res.statusCode, 400, password.length.toString());
    }
  });

  it('when the email is unknown or the password wrong, then the same 401 INVALID_CREDENTIALS', async () => {
    const user = await createUserAndLogin(app.server, app.services);
    const timed = async (email: string) => {
      const start = performance.now();
      const res = await post('/api/v1/auth/login', { email, password: 'wrong password!' });
      return { res, ms: performance.now() - start };
    };
    const known = await timed(user.email);
    const unknown = await timed(`nobody-${randomUUID()}@example.com`);
    for (const { res } of [known, unknown]) {
      assert.equal(res.statusCode, 401);
      assert.equal(code(res.body), 'INVALID_CREDENTIALS');
    }
    assert.deepEqual(
      known.res.json<{ error: object }>().error,
      unknown.res.json<{ error: object }>().error,
    );
    // Both paths run one argon2 verification; a missing one would be ~50x faster.
    assert.ok(unknown.ms > known.ms / 5, `unknown ${unknown.ms} ms vs known ${known.ms} ms`);
  });

  it('when logins fail repeatedly for one email and address, then 429 with Retry-After', async () => {
    const user = await createUserAndLogin(app.server, app.services);
    for (let i = 0; i < 3; i++) {
      const res = await post('/api/v1/auth/login', {
        email: user.email,
        password: 'wrong password!',
      });
      assert.equal(res.statusCode, 401);
    }
    const blocked = await post('/api/v1/auth/login', {
      email: user.email,
      password: user.password,
    });
    assert.equal(blocked.statusCode, 429);
    assert.equal(code(blocked.body), 'RATE_LIMITED');
    assert.ok(Number(blocked.headers['retry-after']) > 0);
  });

  it('when ADMIN_EMAIL is set and no admin exists, then start-up created that admin', async () => {
    const res = await post('/api/v1/auth/login', {
      email: adminEmail,
      password: 'first admin password',
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ data: { user: { role: string } } }>().data.user.role, 'admin');
  });

  it('when the OpenAPI document is read, then it has the bearer scheme and 401/403/429 answers', async () => {
    const spec = (await app.server.inject({ method: 'GET', url: '/openapi.json' })).json<{
      components: { securitySchemes: Record<string, { scheme: string }> };
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; security?: unknown }>
      >;
    }>();
    assert.equal(spec.components.securitySchemes.bearerAuth?.scheme, 'bearer');
    const read = spec.paths['/api/v1/users/{id}']!.get!;
    assert.deepEqual(read.security, [{ bearerAuth: [] }]);
    for (const status of ['401', '403', '429']) assert.ok(read.responses[status], status);
  });

  it('when any response is sent, then security headers are set and x-powered-by is not', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/health/live' });
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.ok(res.headers['strict-transport-security']);
    assert.equal(res.headers['x-powered-by'], undefined);
  });

  describe('field rules', () => {
    const patch = (id: string, token: string, payload: object) =>
      app.server.inject({
        method: 'PATCH',
        url: `/api/v1/users/${id}`,
        headers: bearer(token),
        payload,
      });

    it('when a user tries to change its own role or status, then 403 and nothing changes', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      for (const payload of [
        { role: 'admin' },
        { status: 'suspended' },
        { name: 'X', role: 'admin' },
      ]) {
        const res = await patch(user.id, user.accessToken, payload);
        assert.equal(res.statusCode, 403, JSON.stringify(payload));
      }
      const me = await app.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: bearer(user.accessToken),
      });
      const data = me.json<{ data: { role: string; status: string; name: string } }>().data;
      assert.deepEqual([data.role, data.status, data.name], ['user', 'active', 'Test']);
    });

    it('when a user changes its email, then the current password is required and checked', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const email = `moved-${randomUUID()}@example.com`;
      assert.equal((await patch(user.id, user.accessToken, { email })).statusCode, 400);
      const wrong = await patch(user.id, user.accessToken, {
        email,
        currentPassword: 'not it at all',
      });
      assert.equal(wrong.statusCode, 403);
      assert.equal(code(wrong.body), 'INVALID_CURRENT_PASSWORD');
      const right = await patch(user.id, user.accessToken, {
        email,
        currentPassword: user.password,
      });
      assert.equal(right.statusCode, 200, right.body);
    });

    it('when an admin changes another user, then no current password is needed', async () => {
      const admin = await createUserAndLogin(app.server, app.services, 'admin');
      const user = await createUserAndLogin(app.server, app.services);
      const res = await patch(user.id, admin.accessToken, {
        email: `by-admin-${randomUUID()}@example.com`,
        role: 'admin',
      });
      assert.equal(res.statusCode, 200, res.body);
    });
  });
});
