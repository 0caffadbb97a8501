import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { engines } from '../support/databases.js';
import { startApp, TEST_JWT_SECRET, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';

/**
 * The admin pages over HTTP, in embedded mode (no Redis: the outbox page is the dashboard):
 * the sign-in form, the session cookie's flags, CSRF refusals, sign-out and the deny list,
 * and who gets in. The browser test (test/browser) shows the same pages in Chromium.
 */

const engine = engines.find((e) => e.name === 'pglite')!;
const HOST = 'admin.test';
const SITE = `http://${HOST}`;
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

type Headers = Record<string, string>;

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** The Set-Cookie header of the admin session, split into its attributes. */
function sessionCookie(res: LightMyRequestResponse) {
  const header = [res.headers['set-cookie'] ?? []]
    .flat()
    .find((c) => c.startsWith('stratum_admin='));
  assert.ok(header, `a session cookie in ${JSON.stringify(res.headers)}`);
  const [pair, ...attributes] = header.split(';').map((part) => part.trim());
  return {
    value: pair!.slice('stratum_admin='.length),
    attributes: new Set(attributes.map((a) => a.toLowerCase())),
  };
}

describe('admin pages (embedded)', { skip: engine.skip }, () => {
  let app: StartedApp;
  let admin: TestUser;
  let user: TestUser;

  before(async () => {
    // Trusting the proxy (as behind a TLS-terminating one): X-Forwarded-Proto says https.
    app = await startApp(engine, { env: { TRUST_PROXY: 'true' } });
    admin = await createUserAndLogin(app.server, app.services, 'admin');
    user = await createUserAndLogin(app.server, app.services);
    // A registration schedules a welcome email: a row for the outbox page to show.
    const registered = await app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: {
        name: 'Newcomer',
        email: `n-${randomUUID()}@example.com`,
        password: 'long enough pw',
      },
    });
    assert.equal(registered.statusCode, 201, registered.body);
  });
  after(() => app.close());

  const request = (method: 'GET' | 'POST', url: string, headers: Headers = {}, payload?: string) =>
    app.server.inject({
      method,
      url,
      headers: {
        host: HOST,
        ...(payload !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      payload,
    });

  const signIn = (email: string, password: string, headers: Headers = { origin: SITE }) =>
    request('POST', '/admin/login', headers, form({ email, password }));

  const withCookie = (value: string, headers: Headers = {}) => ({
    cookie: `stratum_admin=${value}`,
    ...headers,
  });

  async function adminCookie(): Promise<string> {
    const res = await signIn(admin.email, admin.password);
    assert.equal(res.statusCode, 303, res.body);
    return sessionCookie(res).value;
  }

  const errorCode = (res: LightMyRequestResponse) =>
    res.json<{ error: { code: string } }>().error.code;

  it('when a browser opens the sign-in page, then it gets the form, under a script-free CSP', async () => {
    const res = await request('GET', '/admin/login', { accept: HTML });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<form method="post" action="\/admin\/login">/);
    assert.match(res.body, /name="email"/);
    assert.match(res.body, /name="password"/);
    assert.doesNotMatch(res.body, /<script|https?:\/\//);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src/);
    assert.equal(res.headers['referrer-policy'], 'same-origin');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('when a browser without credentials opens the dashboard, then it is sent to sign in (303)', async () => {
    const res = await request('GET', '/admin/queues', { accept: HTML });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/admin/login');
  });

  it('when an API client without credentials asks for the dashboard, then 401 in the envelope', async () => {
    const res = await request('GET', '/admin/queues', { accept: 'application/json' });
    assert.equal(res.statusCode, 401);
    assert.equal(errorCode(res), 'UNAUTHORIZED');
  });

  it('when an admin signs in, then an HttpOnly, SameSite=Strict cookie for /admin lasts as long as the token', async () => {
    const res = await signIn(admin.email, admin.password);
    assert.equal(res.statusCode, 303, res.body);
    assert.equal(res.headers.location, '/admin/queues');
    const { value, attributes } = sessionCookie(res);
    assert.ok(value.split('.').length === 3, 'a JWT');
    assert.ok(attributes.has('httponly'));
    assert.ok(attributes.has('samesite=strict'));
    assert.ok(attributes.has('path=/admin'));
    assert.ok(attributes.has('max-age=900'), [...attributes].join('; '));
    assert.ok(!attributes.has('secure'), 'plain http: a Secure cookie would never come back');
  });

  it('when the sign-in came over TLS (through the trusted proxy), then the cookie is Secure', async () => {
    const res = await signIn(admin.email, admin.password, {
      origin: `https://${HOST}`,
      'x-forwarded-proto': 'https',
    });
    assert.equal(res.statusCode, 303, res.body);
    assert.ok(sessionCookie(res).attributes.has('secure'));
  });

  it('when the email is typed in capitals, then it signs in the same account', async () => {
    const res = await signIn(admin.email.toUpperCase(), admin.password);
    assert.equal(res.statusCode, 303, res.body);
  });

  it('when the cookie comes back, then the dashboard is the outbox page with its counts', async () => {
    const cookie = await adminCookie();
    const res = await request('GET', '/admin/queues', withCookie(cookie, { accept: HTML }));
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /Jobs \(outbox\)/);
    for (const state of ['pending', 'sent', 'dead']) {
      assert.match(res.body, new RegExp(`data-state="${state}"><strong>\\d+</strong>`));
    }
    // The registration above scheduled a welcome email.
    assert.match(res.body, /email\.welcome/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  });

  it("when a row's type and error hold markup, then the page shows them as text", async () => {
    const id = randomUUID();
    await app.database.db
      .insertInto('outbox')
      .values({
        id,
        type: '<script>alert(1)</script>',
        payload: '{}',
        failed_at: new Date(),
        attempts: 3,
        last_error: '<img src=x onerror=alert(2)> & "quotes"',
      })
      .execute();
    const res = await request('GET', '/admin/queues', withCookie(await adminCookie()));
    assert.equal(res.statusCode, 200);
    const dead = res.body.slice(res.body.indexOf('<section id="dead">'));
    assert.match(dead, new RegExp(id));
    assert.match(dead, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(dead, /&lt;img src=x onerror=alert\(2\)&gt; &amp; &quot;quotes&quot;/);
    assert.doesNotMatch(res.body, /<script>alert|<img src=x/);
    assert.match(res.body, /data-state="dead"><strong>[1-9]\d*<\/strong>/);
  });

  it('when the Bearer token is sent instead of the cookie, then the dashboard answers too', async () => {
    const res = await request('GET', '/admin/queues', bearer(admin.accessToken));
    assert.equal(res.statusCode, 200);
  });

  it('when a non-admin signs in, then the form comes back with the generic error and no cookie', async () => {
    const res = await signIn(user.email, user.password);
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /Email or password is wrong, or the account may not sign in here/);
    assert.match(res.body, /<form method="post"/);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  it('when the password is wrong, then the same answer as for a non-admin', async () => {
    const res = await signIn(admin.email, 'not the password');
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /Email or password is wrong, or the account may not sign in here/);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  it('when the form is incomplete, then it comes back (400) asking for both fields', async () => {
    const res = await request('POST', '/admin/login', { origin: SITE }, form({ email: 'nope' }));
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Enter an email address and a password/);
  });

  it("when a user's token is put in the cookie, then the dashboard refuses it (403)", async () => {
    const res = await request('GET', '/admin/queues', withCookie(user.accessToken));
    assert.equal(res.statusCode, 403);
    assert.equal(errorCode(res), 'FORBIDDEN');
  });

  it('when the cookie holds an expired token, then the browser signs in again and an API client gets 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ role: 'admin', sid: randomUUID() })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(admin.id)
      .setJti(randomUUID())
      .setIssuedAt(now - 3600)
      .setIssuer('stratum')
      .setAudience('stratum-api')
      .setExpirationTime(now - 1800)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const page = await request('GET', '/admin/queues', withCookie(expired, { accept: HTML }));
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, '/admin/login');
    const api = await request('GET', '/admin/queues', withCookie(expired));
    assert.equal(api.statusCode, 401);
    assert.equal(errorCode(api), 'TOKEN_EXPIRED');
  });

  describe('CSRF', () => {
    let apiToken = '';
    before(async () => {
      apiToken = (await createUserAndLogin(app.server, app.services, 'admin')).accessToken;
    });
    it('when another site posts the sign-in form, then 403 in the envelope and no cookie', async () => {
      const res = await signIn(admin.email, admin.password, { origin: 'http://evil.test' });
      assert.equal(res.statusCode, 403);
      assert.equal(errorCode(res), 'CROSS_SITE_REQUEST');
      assert.equal(res.headers['set-cookie'], undefined);
    });

    it('when a cookie-authenticated POST comes from another origin, then 403 and the session lives on', async () => {
      const cookie = await adminCookie();
      const res = await request(
        'POST',
        '/admin/logout',
        withCookie(cookie, { origin: 'http://evil.test' }),
      );
      assert.equal(res.statusCode, 403);
      assert.equal(errorCode(res), 'CROSS_SITE_REQUEST');
      const still = await request('GET', '/admin/queues', withCookie(cookie));
      assert.equal(still.statusCode, 200);
    });

    it('when a POST carries neither Origin nor Referer, or Origin null, then 403', async () => {
      const cookie = await adminCookie();
      const none = await request('POST', '/admin/logout', withCookie(cookie));
      assert.equal(none.statusCode, 403);
      const nullOrigin = await request(
        'POST',
        '/admin/logout',
        withCookie(cookie, { origin: 'null' }),
      );
      assert.equal(nullOrigin.statusCode, 403);
      // A Referer of another host does not stand in for a missing Origin either.
      const foreign = await request(
        'POST',
        '/admin/logout',
        withCookie(cookie, { referer: 'http://evil.test/admin/queues' }),
      );
      assert.equal(foreign.statusCode, 403);
    });

    it('when a POST has no Origin but a Referer of this host, then it is accepted', async () => {
      const res = await signIn(admin.email, admin.password, { referer: `${SITE}/admin/login` });
      assert.equal(res.statusCode, 303, res.body);
    });

    it('when an API client posts with its Bearer token, then no Origin is asked for', async () => {
      const res = await request('POST', '/admin/logout', bearer(apiToken));
      assert.equal(res.statusCode, 303);
    });
  });

  it('when the admin signs out, then the cookie is cleared and the old one is refused everywhere', async () => {
    const cookie = await adminCookie();
    const res = await request('POST', '/admin/logout', withCookie(cookie, { origin: SITE }));
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/admin/login');
    const cleared = sessionCookie(res);
    assert.equal(cleared.value, '');
    assert.ok(cleared.attributes.has('path=/admin'));
    assert.ok(
      cleared.attributes.has('max-age=0') ||
        [...cleared.attributes].some((a) => a.startsWith('expires=thu, 01 jan 1970')),
      [...cleared.attributes].join('; '),
    );
    // A copy of the old cookie: on the deny list now.
    const page = await request('GET', '/admin/queues', withCookie(cookie, { accept: HTML }));
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, '/admin/login');
    const api = await request('GET', '/admin/queues', withCookie(cookie));
    assert.equal(api.statusCode, 401);
    assert.equal(errorCode(api), 'INVALID_TOKEN');
    // The same token as a Bearer token on the API: the same deny list.
    const me = await request('GET', '/api/v1/users/me', bearer(cookie));
    assert.equal(me.statusCode, 401);
  });

  it('when the OpenAPI documents are generated, then the admin pages are hidden from them', () => {
    // Like /metrics and the documents themselves: outside /api, not part of the API contract.
    const full = app.server.swagger() as { paths?: Record<string, unknown> };
    const paths = Object.keys(full.paths ?? {});
    assert.ok(paths.length > 0);
    assert.deepEqual(
      paths.filter((p) => p.startsWith('/admin') || p.startsWith('/graphiql')),
      [],
    );
  });

  it('when the sign-out page is opened, then it offers a button that posts', async () => {
    const res = await request('GET', '/admin/logout', { accept: HTML });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<form method="post" action="\/admin\/logout">/);
  });
});
