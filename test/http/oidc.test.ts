import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { TokenPair } from '../../src/modules/auth/auth.service.js';
import type { SecurityEventInput } from '../../src/platform/audit/security-log.js';
import { retentionRules } from '../../src/composition/services.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { engines } from '../support/databases.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer } from '../support/auth.js';
import {
  downIssuer,
  TEST_REDIRECT_URI,
  TestOidcProvider,
  type ProviderAccount,
} from '../support/oidc-provider.js';
import { openRedis, redisSkip } from '../support/redis.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';
import { eventually } from '../support/time.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const skip = engine.skip ?? redisSkip;

const AUTHORIZE = '/api/v1/auth/oidc/authorize';
const CALLBACK = '/api/v1/auth/oidc/callback';
const COOKIE = 'stratum_oidc';

interface ErrorBody {
  error: { code: string; details?: { reason?: string } };
}

const digest = (value: string) => createHash('sha256').update(value).digest('hex');

function newAccount(overrides: Partial<ProviderAccount> = {}): ProviderAccount {
  return {
    sub: `sub-${randomUUID()}`,
    email: `oidc-${randomUUID()}@example.com`,
    email_verified: true,
    name: 'Grace Hopper',
    ...overrides,
  };
}

describe('sign-in with OpenID Connect (PostgreSQL + Redis, a real provider)', { skip }, () => {
  let app: StartedApp;
  let provider: TestOidcProvider;
  const redis = skip ? undefined : openRedis();

  /** The security events the flow recorded, seen on their way into the log. */
  const events: SecurityEventInput[] = [];
  const eventsOf = (userId: string) => events.filter((e) => e.userId === userId);

  let smtp: TestSmtpServer;

  before(async () => {
    provider = await TestOidcProvider.start();
    smtp = await startSmtpServer();
    app = await startApp(engine, {
      redis,
      env: { ...provider.env(), SMTP_URL: smtp.url, OUTBOX_POLL_MS: '50' },
    });
    const log = app.services.securityLog;
    const record = log.record.bind(log);
    log.record = async (event, tx) => {
      events.push(event);
      return record(event, tx);
    };
  });
  after(async () => {
    await app?.close();
    await provider?.close();
    await smtp?.close();
    redis?.disconnect();
  });

  /** The browser's first step: the redirect to the provider, and the cookie that came with it. */
  async function authorize() {
    const res = await app.server.inject({ method: 'GET', url: AUTHORIZE });
    assert.equal(res.statusCode, 302, res.body);
    const cookie = res.cookies.find((c) => c.name === COOKIE);
    assert.ok(cookie, 'the binding cookie');
    return { location: res.headers.location!, browserKey: cookie.value, res };
  }

  function callback(query: Record<string, string>, browserKey?: string) {
    return app.server.inject({
      method: 'GET',
      url: `${CALLBACK}?${new URLSearchParams(query).toString()}`,
      cookies: browserKey === undefined ? {} : { [COOKIE]: browserKey },
    });
  }

  /** The whole flow as one browser: authorize, the provider's pages, the callback. */
  async function signIn(account: ProviderAccount) {
    const { location, browserKey } = await authorize();
    const query = await provider.signIn(location, account);
    return { res: await callback(query, browserKey), query, browserKey };
  }

  const userByEmail = (email: string) =>
    app.database.db
      .selectFrom('users')
      .select(['id', 'name', 'role', 'password_hash', 'email_verified_at'])
      .where(sql<string>`lower(email)`, '=', email.toLowerCase())
      .executeTakeFirst();

  const identitiesOf = (userId: string) =>
    app.database.db
      .selectFrom('user_identities')
      .select(['issuer', 'subject'])
      .where('user_id', '=', userId)
      .execute();

  async function localAccount(email: string, verified: boolean) {
    const user = await app.services.users.createUser(
      { userId: 'system', role: 'admin' },
      { name: 'Local', email, password: 'correct horse battery' },
    );
    // An account an admin makes starts verified; set the state the case needs either way.
    await app.database.db
      .updateTable('users')
      .set({ email_verified_at: verified ? new Date() : null })
      .where('id', '=', user.id)
      .execute();
    return user;
  }

  it('when authorize is called, then it redirects to the provider with PKCE S256, state and nonce, and binds the browser', async () => {
    const { location, res } = await authorize();
    const url = new URL(location);
    assert.equal(url.origin, provider.issuer);
    const params = url.searchParams;
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('client_id'), provider.clientId);
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.match(params.get('code_challenge') ?? '', /^[\w-]{43}$/);
    assert.ok((params.get('state') ?? '').length >= 32);
    assert.ok((params.get('nonce') ?? '').length >= 32);
    assert.match(params.get('scope') ?? '', /\bopenid\b/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const cookie = res.cookies.find((c) => c.name === COOKIE)!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/api/v1/auth/oidc');
    // Only hashes of the state and of the browser key are stored.
    const stored = await app.database.db
      .selectFrom('oidc_logins')
      .select(['browser_hash', 'code_verifier'])
      .where('state_hash', '=', digest(params.get('state')!))
      .executeTakeFirstOrThrow();
    assert.equal(stored.browser_hash, digest(cookie.value));
    assert.notEqual(stored.code_verifier, params.get('code_challenge'));
  });

  it('when someone new signs in, then an account is created, linked, verified as the provider said, and signed in', async () => {
    const account = newAccount();
    const { res } = await signIn(account);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const pair = res.json<{ data: TokenPair }>().data;
    assert.equal(pair.tokenType, 'Bearer');
    assert.equal(pair.user.email, account.email);
    assert.equal(pair.user.role, 'user');
    const row = (await userByEmail(account.email!))!;
    assert.equal(row.id, pair.user.id);
    assert.equal(row.name, 'Grace Hopper');
    assert.equal(row.password_hash, null);
    assert.ok(row.email_verified_at);
    assert.deepEqual(await identitiesOf(row.id), [
      { issuer: provider.issuer, subject: account.sub },
    ]);
    // The tokens are an ordinary session's: the API takes the access token, refresh rotates.
    const me = await app.server.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: bearer(pair.accessToken),
    });
    assert.equal(me.statusCode, 200, me.body);
    const refreshed = await app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: pair.refreshToken },
    });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    // Welcomed as a registration is: the email through the outbox, to the provider's address.
    const mail = await eventually(
      () => smtp.messages.find((m) => m.to === account.email) ?? false,
      {
        what: 'the welcome email',
      },
    );
    assert.match(mail.raw, /Grace Hopper/);
  });

  it('when a linked identity signs in again, then the same user is signed in, nothing new is made', async () => {
    const account = newAccount();
    const first = (await signIn(account)).res.json<{ data: TokenPair }>().data;
    // The provider's address changed since: the link, not the address, says who it is.
    const second = await signIn({ ...account, email: `moved-${randomUUID()}@example.com` });
    assert.equal(second.res.statusCode, 200, second.res.body);
    assert.equal(second.res.json<{ data: TokenPair }>().data.user.id, first.user.id);
    assert.equal((await identitiesOf(first.user.id)).length, 1);
  });

  it('when one new person completes two sign-ins at the same moment, then both land in the one account made', async () => {
    const account = newAccount();
    const flows = [];
    for (let i = 0; i < 2; i++) {
      const { location, browserKey } = await authorize();
      flows.push({ query: await provider.signIn(location, account), browserKey });
    }
    const answers = await Promise.all(flows.map((f) => callback(f.query, f.browserKey)));
    for (const res of answers) assert.equal(res.statusCode, 200, res.body);
    const ids = answers.map((r) => r.json<{ data: TokenPair }>().data.user.id);
    assert.equal(ids[0], ids[1]);
    assert.equal((await identitiesOf(ids[0]!)).length, 1);
  });

  it('when a verified local account holds the verified address, then the identity is linked to it and it is signed in', async () => {
    const account = newAccount();
    const local = await localAccount(account.email!, true);
    const { res } = await signIn({ ...account, email: account.email!.toUpperCase() });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ data: TokenPair }>().data.user.id, local.id);
    assert.deepEqual(await identitiesOf(local.id), [
      { issuer: provider.issuer, subject: account.sub },
    ]);
    // The password still works: linking adds a way in, it takes none away.
    const login = await app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: account.email, password: 'correct horse battery' },
    });
    assert.equal(login.statusCode, 200, login.body);
  });

  it('when the local account holding the address never verified it, then 409 OIDC_ACCOUNT_NOT_VERIFIED and nothing is linked', async () => {
    const account = newAccount();
    const local = await localAccount(account.email!, false);
    const { res } = await signIn(account);
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(res.json<ErrorBody>().error.code, 'OIDC_ACCOUNT_NOT_VERIFIED');
    assert.doesNotMatch(res.body, /accessToken/);
    assert.deepEqual(await identitiesOf(local.id), []);
    assert.deepEqual(
      eventsOf(local.id)
        .filter((e) => e.type !== 'account-created')
        .map((e) => [e.type, e.outcome, e.details?.reason]),
      [['sign-in-failed', 'failure', 'account-email-unverified']],
    );
  });

  it('when the provider has not verified an address a local account holds, then 403 OIDC_EMAIL_NOT_VERIFIED and nothing is linked', async () => {
    const account = newAccount({ email_verified: false });
    const local = await localAccount(account.email!, true);
    const { res } = await signIn(account);
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(res.json<ErrorBody>().error.code, 'OIDC_EMAIL_NOT_VERIFIED');
    assert.deepEqual(await identitiesOf(local.id), []);
  });

  it('when the provider has not verified the address of someone new, then the account is created unverified', async () => {
    const account = newAccount({ email_verified: false, name: undefined });
    const { res } = await signIn(account);
    assert.equal(res.statusCode, 200, res.body);
    const row = (await userByEmail(account.email!))!;
    assert.equal(row.email_verified_at, null);
    // No name from the provider: the address's local part stands in.
    assert.equal(row.name, account.email!.split('@')[0]);
  });

  it('when the provider gives no address for someone new, then 403 OIDC_EMAIL_REQUIRED', async () => {
    const { res } = await signIn(newAccount({ email: undefined }));
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(res.json<ErrorBody>().error.code, 'OIDC_EMAIL_REQUIRED');
  });

  it('when the linked user is suspended, then 403 ACCOUNT_SUSPENDED, as at login', async () => {
    const account = newAccount();
    const first = (await signIn(account)).res.json<{ data: TokenPair }>().data;
    const admin = { userId: 'system', role: 'admin' as const };
    await app.services.users.updateUser(admin, first.user.id, { status: 'suspended' });
    const { res } = await signIn(account);
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(res.json<ErrorBody>().error.code, 'ACCOUNT_SUSPENDED');
    assert.equal(eventsOf(first.user.id).at(-1)?.details?.reason, 'account-suspended');
  });

  it('when the state was never issued, then 400 OIDC_STATE_INVALID (unknown)', async () => {
    const { location, browserKey } = await authorize();
    const query = await provider.signIn(location, newAccount());
    const res = await callback({ ...query, state: 'not-a-state-this-api-issued' }, browserKey);
    assert.equal(res.statusCode, 400, res.body);
    const { error } = res.json<ErrorBody>();
    assert.deepEqual([error.code, error.details?.reason], ['OIDC_STATE_INVALID', 'unknown']);
    assert.equal(res.headers['cache-control'], 'no-store');
    // Refused or not, the sign-in is over for this browser: its key is cleared.
    assert.equal(res.cookies.find((c) => c.name === COOKIE)?.value, '');
  });

  it('when the callback comes without a state, then 400 VALIDATION_ERROR', async () => {
    const res = await app.server.inject({ method: 'GET', url: `${CALLBACK}?code=abc` });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json<ErrorBody>().error.code, 'VALIDATION_ERROR');
  });

  it('when another browser brings the callback, then 400 (other-browser), and the browser that started it still can', async () => {
    const { location, browserKey } = await authorize();
    const account = newAccount();
    const query = await provider.signIn(location, account);
    const { browserKey: otherKey } = await authorize();
    for (const key of [undefined, otherKey]) {
      const res = await callback(query, key);
      assert.equal(res.statusCode, 400, res.body);
      const { error } = res.json<ErrorBody>();
      assert.deepEqual(
        [error.code, error.details?.reason],
        ['OIDC_STATE_INVALID', 'other-browser'],
      );
    }
    const res = await callback(query, browserKey);
    assert.equal(res.statusCode, 200, res.body);
  });

  it('when a state comes back a second time, then 400 OIDC_STATE_INVALID (used)', async () => {
    const { res, query, browserKey } = await signIn(newAccount());
    assert.equal(res.statusCode, 200, res.body);
    const again = await callback(query, browserKey);
    assert.equal(again.statusCode, 400, again.body);
    const { error } = again.json<ErrorBody>();
    assert.deepEqual([error.code, error.details?.reason], ['OIDC_STATE_INVALID', 'used']);
  });

  it('when the same callback arrives twice at once, then one signs in and the other is refused', async () => {
    const { location, browserKey } = await authorize();
    const query = await provider.signIn(location, newAccount());
    const answers = await Promise.all([callback(query, browserKey), callback(query, browserKey)]);
    assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 400]);
    const refused = answers.find((r) => r.statusCode === 400)!;
    assert.equal(refused.json<ErrorBody>().error.details?.reason, 'used');
  });

  it('when the state expired, then 400 OIDC_STATE_INVALID (expired)', async () => {
    const { location, browserKey } = await authorize();
    const query = await provider.signIn(location, newAccount());
    await app.database.db
      .updateTable('oidc_logins')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('state_hash', '=', digest(query.state!))
      .execute();
    const res = await callback(query, browserKey);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json<ErrorBody>().error.details?.reason, 'expired');
  });

  it('when a spent code is replayed under a fresh state with its verifier, then the provider refuses it: 401 OIDC_SIGN_IN_FAILED (code-rejected)', async () => {
    const first = await signIn(newAccount());
    assert.equal(first.res.statusCode, 200, first.res.body);
    const spent = await app.database.db
      .selectFrom('oidc_logins')
      .select(['code_verifier', 'nonce'])
      .where('state_hash', '=', digest(first.query.state!))
      .executeTakeFirstOrThrow();
    // A new sign-in carrying the first one's verifier and nonce: only the code's reuse is wrong.
    const { location, browserKey } = await authorize();
    const state = new URL(location).searchParams.get('state')!;
    await app.database.db
      .updateTable('oidc_logins')
      .set({ code_verifier: spent.code_verifier, nonce: spent.nonce })
      .where('state_hash', '=', digest(state))
      .execute();
    const res = await callback({ ...first.query, state }, browserKey);
    assert.equal(res.statusCode, 401, res.body);
    const { error } = res.json<ErrorBody>();
    assert.deepEqual([error.code, error.details?.reason], ['OIDC_SIGN_IN_FAILED', 'code-rejected']);
  });

  it('when the ID token carries another nonce than the sign-in stored, then 401 OIDC_SIGN_IN_FAILED (response-invalid) and no one is signed in', async () => {
    const account = newAccount();
    const { location, browserKey } = await authorize();
    const query = await provider.signIn(location, account);
    await app.database.db
      .updateTable('oidc_logins')
      .set({ nonce: 'a-nonce-the-provider-never-saw' })
      .where('state_hash', '=', digest(query.state!))
      .execute();
    const res = await callback(query, browserKey);
    assert.equal(res.statusCode, 401, res.body);
    const { error } = res.json<ErrorBody>();
    assert.deepEqual(
      [error.code, error.details?.reason],
      ['OIDC_SIGN_IN_FAILED', 'response-invalid'],
    );
    assert.equal(await userByEmail(account.email!), undefined);
    const failed = events.filter((e) => e.requestId === res.headers['x-request-id']);
    assert.deepEqual(
      failed.map((e) => [e.type, e.details?.method, e.details?.reason]),
      [['sign-in-failed', 'oidc', 'response-invalid']],
    );
  });

  it('when the callback names another issuer (a mix-up), then 401 OIDC_SIGN_IN_FAILED (response-invalid)', async () => {
    const { location, browserKey } = await authorize();
    const query = await provider.signIn(location, newAccount());
    const res = await callback({ ...query, iss: 'https://accounts.attacker.example' }, browserKey);
    assert.equal(res.statusCode, 401, res.body);
    assert.equal(res.json<ErrorBody>().error.details?.reason, 'response-invalid');
  });

  it('when the provider answers with an error instead of a code, then 401 OIDC_SIGN_IN_FAILED (provider-error)', async () => {
    const { location, browserKey } = await authorize();
    const state = new URL(location).searchParams.get('state')!;
    const res = await callback({ state, error: 'access_denied', iss: provider.issuer }, browserKey);
    assert.equal(res.statusCode, 401, res.body);
    assert.equal(res.json<ErrorBody>().error.details?.reason, 'provider-error');
  });

  it('when pending sign-ins are a day past their expiry, then the pruner deletes them and keeps the rest', async () => {
    const { location } = await authorize();
    const recent = digest(new URL(location).searchParams.get('state')!);
    const { location: older } = await authorize();
    const stale = digest(new URL(older).searchParams.get('state')!);
    await app.database.db
      .updateTable('oidc_logins')
      .set({ expires_at: sql<Date>`now() - interval '25 hours'` })
      .where('state_hash', '=', stale)
      .execute();
    const rule = retentionRules(loadConfig({}), app.database.db).find(
      (r) => r.table === 'oidc_logins',
    )!;
    while ((await rule.pruneBatch(100)) > 0);
    const left = await app.database.db
      .selectFrom('oidc_logins')
      .select('state_hash')
      .where('state_hash', 'in', [recent, stale])
      .execute();
    assert.deepEqual(
      left.map((r) => r.state_hash),
      [recent],
    );
  });
});

describe('OpenID Connect sign-in without a usable provider', { skip }, () => {
  it('when the provider is down at discovery, then authorize answers 502 OIDC_PROVIDER_UNAVAILABLE and stores nothing', async () => {
    const issuer = await downIssuer();
    const app = await startApp(engine, {
      env: {
        OIDC_ISSUER: issuer,
        OIDC_CLIENT_ID: 'stratum',
        OIDC_CLIENT_SECRET: 'secret',
        OIDC_REDIRECT_URI: 'http://stratum.test/api/v1/auth/oidc/callback',
      },
    });
    try {
      const res = await app.server.inject({ method: 'GET', url: AUTHORIZE });
      assert.equal(res.statusCode, 502, res.body);
      assert.equal(res.json<ErrorBody>().error.code, 'OIDC_PROVIDER_UNAVAILABLE');
      assert.equal(res.cookies.length, 0);
      const pending = await app.database.db
        .selectFrom('oidc_logins')
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(pending.n, 0);
    } finally {
      await app.close();
    }
  });

  it('when the provider comes up after a failed discovery, then the next sign-in discovers it and goes through', async () => {
    const issuer = await downIssuer();
    const clientSecret = `secret-${randomUUID()}`;
    const app = await startApp(engine, {
      env: {
        OIDC_ISSUER: issuer,
        OIDC_CLIENT_ID: 'stratum-test',
        OIDC_CLIENT_SECRET: clientSecret,
        OIDC_REDIRECT_URI: TEST_REDIRECT_URI,
      },
    });
    let provider: TestOidcProvider | undefined;
    try {
      const down = await app.server.inject({ method: 'GET', url: AUTHORIZE });
      assert.equal(down.statusCode, 502, down.body);
      provider = await TestOidcProvider.start({ port: Number(new URL(issuer).port), clientSecret });
      const up = await app.server.inject({ method: 'GET', url: AUTHORIZE });
      assert.equal(up.statusCode, 302, up.body);
      const browserKey = up.cookies.find((c) => c.name === COOKIE)!.value;
      const query = await provider.signIn(up.headers.location!, newAccount());
      const res = await app.server.inject({
        method: 'GET',
        url: `${CALLBACK}?${new URLSearchParams(query).toString()}`,
        cookies: { [COOKIE]: browserKey },
      });
      assert.equal(res.statusCode, 200, res.body);
    } finally {
      await app.close();
      await provider?.close();
    }
  });

  it('when the provider goes down between the redirect and the callback, then 502 OIDC_PROVIDER_UNAVAILABLE, and no account is made', async () => {
    const provider = await TestOidcProvider.start();
    const app = await startApp(engine, { env: provider.env() });
    try {
      const start = await app.server.inject({ method: 'GET', url: AUTHORIZE });
      const browserKey = start.cookies.find((c) => c.name === COOKIE)!.value;
      const account = newAccount();
      const query = await provider.signIn(start.headers.location!, account);
      await provider.close();
      const res = await app.server.inject({
        method: 'GET',
        url: `${CALLBACK}?${new URLSearchParams(query).toString()}`,
        cookies: { [COOKIE]: browserKey },
      });
      assert.equal(res.statusCode, 502, res.body);
      assert.equal(res.json<ErrorBody>().error.code, 'OIDC_PROVIDER_UNAVAILABLE');
      const users = await app.database.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', account.email!)
        .execute();
      assert.deepEqual(users, []);
    } finally {
      await app.close();
      await provider.close();
    }
  });

  it('when OIDC_* is not set, then the routes do not exist: 404 in the envelope', async () => {
    const app = await startApp(engine);
    try {
      for (const url of [AUTHORIZE, `${CALLBACK}?state=x&code=y`]) {
        const res = await app.server.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(res.json<ErrorBody>().error.code, 'NOT_FOUND');
      }
    } finally {
      await app.close();
    }
  });
});

describe('OpenID Connect settings', () => {
  const complete = {
    OIDC_ISSUER: 'https://accounts.example.com',
    OIDC_CLIENT_ID: 'stratum',
    OIDC_CLIENT_SECRET: 'secret',
    OIDC_REDIRECT_URI: 'https://app.example.com/api/v1/auth/oidc/callback',
  };

  it('when some but not all are set, then the configuration names each one missing', () => {
    assert.throws(
      () => loadConfig({ OIDC_ISSUER: complete.OIDC_ISSUER, OIDC_CLIENT_ID: 'stratum' }),
      (err: ConfigError) =>
        err.problems.map((p) => p.variable).join() === 'OIDC_CLIENT_SECRET,OIDC_REDIRECT_URI',
    );
  });

  it('when the issuer is http: on a host other than loopback, then it is refused', () => {
    assert.throws(
      () => loadConfig({ ...complete, OIDC_ISSUER: 'http://accounts.example.com' }),
      /OIDC_ISSUER: must use https:/,
    );
    for (const issuer of ['http://127.0.0.1:9000', 'http://localhost:9000', 'http://[::1]:9000']) {
      assert.equal(loadConfig({ ...complete, OIDC_ISSUER: issuer }).oidcIssuer, issuer);
    }
  });

  it('when the scopes leave out openid, then they are refused', () => {
    assert.throws(() => loadConfig({ ...complete, OIDC_SCOPES: 'email' }), /OIDC_SCOPES/);
  });
});
