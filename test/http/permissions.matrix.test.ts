import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { OpenAPIV3_1 } from 'openapi-types';
import { sql } from 'kysely';
import { AccountTokensRepository } from '../../src/modules/users/account-tokens.repository.js';
import { generateSync } from 'otplib';
import { engines } from '../support/databases.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, login, type TestUser } from '../support/auth.js';
import { deleteQueueKeys, openQueueRedis, uniqueQueuePrefix } from '../support/queues.js';
import { openRedis, redisSkip } from '../support/redis.js';
import { TestOidcProvider } from '../support/oidc-provider.js';

/**
 * Every route × every kind of caller → the status it must get.
 * guest: no token. user: a signed-in user acting on collections, or on a user that isn't them.
 * self: the user the route's :id names. other: another plain user. admin: an admin.
 * Others' user records answer 404 (their existence is not revealed), see README.
 */
type Who = 'guest' | 'user' | 'self' | 'other' | 'admin';
type Row = Record<Who, number>;

const all = (status: number): Row => ({
  guest: status,
  user: status,
  self: status,
  other: status,
  admin: status,
});

const MATRIX: Record<string, Row> = {
  'POST /api/v1/auth/register': all(201),
  'POST /api/v1/auth/login': all(200),
  'POST /api/v1/auth/refresh': all(200),
  'POST /api/v1/auth/logout': { guest: 401, user: 204, self: 204, other: 204, admin: 204 },
  // OpenID Connect sign-in (the suite's app has a provider): public; a caller's token changes
  // nothing. The callback case walks the whole flow first (oidcCallbackRequest).
  'GET /api/v1/auth/oidc/authorize': all(302),
  'GET /api/v1/auth/oidc/callback': all(200),
  'GET /api/v1/users': { guest: 401, user: 403, self: 403, other: 403, admin: 200 },
  'POST /api/v1/users': { guest: 401, user: 403, self: 403, other: 403, admin: 201 },
  'GET /api/v1/users/me': { guest: 401, user: 200, self: 200, other: 200, admin: 200 },
  'GET /api/v1/users/{id}': { guest: 401, user: 404, self: 200, other: 404, admin: 200 },
  'PUT /api/v1/users/{id}': { guest: 401, user: 404, self: 200, other: 404, admin: 200 },
  'PATCH /api/v1/users/{id}': { guest: 401, user: 404, self: 200, other: 404, admin: 200 },
  'DELETE /api/v1/users/{id}': { guest: 401, user: 404, self: 403, other: 404, admin: 204 },
  // Public profiles: anyone, guests included (README, "Caching").
  'GET /api/v1/users/{id}/profile': all(200),
  // Posts: anyone reads them; write:posts writes as oneself; the author or moderate:posts
  // (admins) changes and deletes. Posts are public, so others' answer 403, not 404 (README).
  'GET /api/v1/posts': all(200),
  'POST /api/v1/posts': { guest: 401, user: 201, self: 201, other: 201, admin: 201 },
  'GET /api/v1/posts/{id}': all(200),
  'PUT /api/v1/posts/{id}': authorOrModerator(200),
  'PATCH /api/v1/posts/{id}': authorOrModerator(200),
  'DELETE /api/v1/posts/{id}': authorOrModerator(204),
  'GET /api/v1/users/{id}/posts': all(200),
  // API v2: the same services, so the same answers as the v1 routes they stand beside.
  'GET /api/v2/users': { guest: 401, user: 403, self: 403, other: 403, admin: 200 },
  'GET /api/v2/users/{id}': { guest: 401, user: 404, self: 200, other: 404, admin: 200 },
  'GET /api/v2/posts': all(200),
  'GET /api/v2/posts/{id}': all(200),
  // The catalogue: anyone reads it; only write:products (admins) changes it.
  'GET /api/v1/products': all(200),
  'POST /api/v1/products': { guest: 401, user: 403, self: 403, other: 403, admin: 201 },
  'GET /api/v1/products/{id}': all(200),
  'PUT /api/v1/products/{id}': { guest: 401, user: 403, self: 403, other: 403, admin: 200 },
  'PATCH /api/v1/products/{id}': { guest: 401, user: 403, self: 403, other: 403, admin: 200 },
  'DELETE /api/v1/products/{id}': { guest: 401, user: 403, self: 403, other: 403, admin: 204 },
  // The ledger and orders: the owner, or admins (read/write:accounts, read/write:orders).
  // Others' accounts, movements and orders answer 404 like others' user records.
  'GET /api/v1/accounts/{id}': { guest: 401, user: 404, self: 200, other: 404, admin: 200 },
  'GET /api/v1/accounts/{id}/transactions': ownerOrAdmin(200),
  'GET /api/v1/users/{id}/accounts': ownerOrAdmin(200),
  'POST /api/v1/transfers': ownerOrAdmin(201),
  'GET /api/v1/transfers/{id}': ownerOrAdmin(200),
  // Holds: self is the payer (read, void, its account's list) or the payee (capture).
  'GET /api/v1/holds/{id}': ownerOrAdmin(200),
  'POST /api/v1/holds/{id}/capture': ownerOrAdmin(200),
  'POST /api/v1/holds/{id}/void': ownerOrAdmin(200),
  'GET /api/v1/accounts/{id}/holds': ownerOrAdmin(200),
  'POST /api/v1/accounts/{id}/deposits': {
    guest: 401,
    user: 403,
    self: 403,
    other: 403,
    admin: 201,
  },
  'POST /api/v1/users/{id}/orders': ownerOrAdmin(201),
  'GET /api/v1/users/{id}/orders': ownerOrAdmin(200),
  'GET /api/v1/orders/{id}': ownerOrAdmin(200),
  'POST /api/v1/orders/{id}/cancel': ownerOrAdmin(200),
  // Two-factor: the code step needs a step token, whoever calls (a made-up one is 401). The
  // account itself enrols (an admin for another: 403); it confirms with no enrolment started
  // (409). Turning it off: the target has it on; the account itself must give password and code
  // (none here: 400), an admin needs none.
  'POST /api/v1/auth/login/two-factor': all(401),
  'GET /api/v1/users/{id}/two-factor': ownerOrAdmin(200),
  'POST /api/v1/users/{id}/two-factor': {
    guest: 401,
    user: 404,
    self: 201,
    other: 404,
    admin: 403,
  },
  'POST /api/v1/users/{id}/two-factor/confirm': {
    guest: 401,
    user: 404,
    self: 409,
    other: 404,
    admin: 403,
  },
  'DELETE /api/v1/users/{id}/two-factor': {
    guest: 401,
    user: 404,
    self: 400,
    other: 404,
    admin: 204,
  },
  // Sessions: the user's own, or read:users (list) and write:users (end); others' answer 404.
  'GET /api/v1/users/{id}/sessions': ownerOrAdmin(200),
  'DELETE /api/v1/users/{id}/sessions': ownerOrAdmin(200),
  'DELETE /api/v1/users/{id}/sessions/{sessionId}': ownerOrAdmin(204),
  'POST /api/v1/auth/logout-all': { guest: 401, user: 200, self: 200, other: 200, admin: 200 },
  // The security log: your own, or anyone's with read:users (admins); all of it for admins.
  'GET /api/v1/users/{id}/security-events': ownerOrAdmin(200),
  'GET /api/v1/security-events': { guest: 401, user: 403, self: 403, other: 403, admin: 200 },
  // The emailed links: the token decides the account, whoever sends it (guests included).
  'POST /api/v1/auth/verify-email': all(200),
  'POST /api/v1/auth/forgot-password': all(204),
  'POST /api/v1/auth/reset-password': all(204),
  'POST /api/v1/auth/confirm-email-change': all(200),
  // A new verification link for the caller: the target's address is unverified, everyone
  // else's (made by the fixtures, as an operator would) verified.
  'POST /api/v1/auth/resend-verification': {
    guest: 401,
    user: 409,
    self: 204,
    other: 409,
    admin: 409,
  },
};

/**
 * The admin pages (outside /api): guest, a signed-in user, an admin, each with their Bearer
 * token. The sign-in form (303 = a session cookie) is for admins only; signing out always
 * ends on the sign-in page. The dashboard is bull-board here (the suite has a queue Redis).
 */
type AdminCaller = 'guest' | 'user' | 'admin';
const QUEUES = '/admin/queues';
const ADMIN_HOST = 'admin.test';
const ADMIN_MATRIX: Record<string, Record<AdminCaller, number>> = {
  'GET /admin/login': { guest: 200, user: 200, admin: 200 },
  'POST /admin/login': { guest: 400, user: 401, admin: 303 },
  'GET /admin/logout': { guest: 200, user: 200, admin: 200 },
  'POST /admin/logout': { guest: 303, user: 303, admin: 303 },
  // The code step's form, posted without its fields: shown again as the sign-in form.
  'POST /admin/login/two-factor': { guest: 400, user: 400, admin: 400 },
  [`GET ${QUEUES}`]: { guest: 401, user: 403, admin: 200 },
  [`GET ${QUEUES}/`]: { guest: 401, user: 403, admin: 200 },
  [`GET ${QUEUES}/api/queues`]: { guest: 401, user: 403, admin: 200 },
};

/** "METHOD /path" for every route in Fastify's printRoutes tree, HEAD left out. */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([^)]+)\))?/.exec(line);
    if (!match) continue;
    stack.length = match[1]!.length / 4;
    stack.push(match[2]!);
    for (const method of match[3]?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(`${method} ${stack.join('')}`);
    }
  }
  return routes;
}

/** The session (`sid`) an access token belongs to. */
function sessionOf(accessToken: string): string {
  const payload = Buffer.from(accessToken.split('.')[1]!, 'base64url').toString();
  return (JSON.parse(payload) as { sid: string }).sid;
}

function ownerOrAdmin(status: number): Row {
  return { guest: 401, user: 404, self: status, other: 404, admin: status };
}

function authorOrModerator(status: number): Row {
  return { guest: 401, user: 403, self: status, other: 403, admin: status };
}

const product = { name: 'Kettle', description: '', priceMinor: 3500, currency: 'USD' };
const post = { title: 'Matrix', content: 'A post the target wrote.' };

/**
 * What a case's :id names. target: the user of a users route; productId: a product; postId: a
 * post the target wrote; walletId:
 * the target's wallet (funded); transferId: a deposit into it; orderId: a paid order of theirs.
 */
interface Fixture {
  target: TestUser;
  productId: string;
  postId: string;
  walletId: string;
  payeeWalletId: string;
  transferId: string;
  orderId: string;
  /** A pending hold: paid by the target, or, for the capture route, paid to the target. */
  holdId: string;
  /** A live token of the kind the route spends (the account-email routes), for the target. */
  accountToken: string;
}

function idFor(path: string, f: Fixture): string {
  if (path.includes('/products/')) return f.productId;
  if (path.includes('/posts/')) return f.postId;
  if (path.includes('/accounts/')) return f.walletId;
  if (path.includes('/transfers/')) return f.transferId;
  if (path.includes('/holds/')) return f.holdId;
  if (path.includes('/orders/')) return f.orderId;
  return f.target.id;
}

function requestFor(route: string, fixture: Fixture) {
  const { target, productId } = fixture;
  const [method, path] = route.split(' ') as [string, string];
  const url = path
    .replace('{id}', idFor(path, fixture))
    .replace('{sessionId}', sessionOf(target.accessToken));
  const unique = `m-${randomUUID()}@example.com`;
  const bodies: Record<string, unknown> = {
    'POST /api/v1/auth/register': { name: 'New', email: unique, password: 'long enough pw' },
    'POST /api/v1/auth/login': { email: target.email, password: target.password },
    'POST /api/v1/auth/refresh': { refreshToken: target.refreshToken },
    'POST /api/v1/users': { name: 'New', email: unique, password: 'long enough pw' },
    'PUT /api/v1/users/{id}': { name: 'Put', email: target.email, role: 'user', status: 'active' },
    'PATCH /api/v1/users/{id}': { name: 'Patched' },
    'POST /api/v1/products': product,
    'PUT /api/v1/products/{id}': { ...product, active: true },
    'PATCH /api/v1/products/{id}': { priceMinor: 3600 },
    'POST /api/v1/posts': post,
    'PUT /api/v1/posts/{id}': { ...post, title: 'Replaced' },
    'PATCH /api/v1/posts/{id}': { content: 'Edited.' },
    'POST /api/v1/transfers': {
      fromAccountId: fixture.walletId,
      toAccountId: fixture.payeeWalletId,
      amount: 1,
      currency: 'USD',
    },
    'POST /api/v1/accounts/{id}/deposits': { amount: 100, currency: 'USD' },
    'POST /api/v1/users/{id}/orders': { items: [{ productId, quantity: 1 }] },
    'POST /api/v1/auth/verify-email': { token: fixture.accountToken },
    'POST /api/v1/auth/forgot-password': { email: target.email },
    'POST /api/v1/auth/reset-password': {
      token: fixture.accountToken,
      password: 'a brand new passphrase',
    },
    'POST /api/v1/auth/confirm-email-change': { token: fixture.accountToken },
    'POST /api/v1/auth/login/two-factor': {
      stepToken: 'q3Zt8Yw1mXo4Lk0vB7nR2cHs9dFj5gPa6eUiTyWxQzE',
      code: '000000',
    },
    'POST /api/v1/users/{id}/two-factor/confirm': { code: '000000' },
  };
  return {
    method: method as 'GET',
    url,
    payload: bodies[route] as object | undefined,
    headers: { 'idempotency-key': randomUUID() },
  };
}

const engine = engines.find((e) => e.name === 'postgres')!;

describe('permission matrix (PostgreSQL + Redis)', { skip: engine.skip ?? redisSkip }, () => {
  let app: StartedApp;
  let admin: TestUser;
  const redis = (engine.skip ?? redisSkip) ? undefined : openRedis();
  // With a queue connection the app also serves the job dashboard (outside /api).
  const queueRedis = (engine.skip ?? redisSkip) ? undefined : openQueueRedis();
  const prefix = uniqueQueuePrefix();
  let provider: TestOidcProvider;

  before(async () => {
    provider = await TestOidcProvider.start();
    app = await startApp(engine, {
      redis,
      queueRedis,
      env: { QUEUE_PREFIX: prefix, ...provider.env() },
    });
    admin = await createUserAndLogin(app.server, app.services, 'admin');
  });
  after(async () => {
    await app.close();
    await provider.close();
    redis?.disconnect();
    queueRedis?.disconnect();
    await deleteQueueKeys(prefix);
  });

  /** The case's target user and what its :id may name; money only for the money routes. */
  async function fixtureFor(route: string): Promise<Fixture> {
    const { services } = app;
    const adminActor = { userId: admin.id, role: 'admin' as const };
    const target = await createUserAndLogin(app.server, services);
    const { id: productId } = await services.products.createProduct(adminActor, product);
    const { id: postId } = await services.posts.createPost(
      { userId: target.id, role: 'user' },
      post,
    );
    const accountToken = await accountTokenFor(route, target);
    const none = {
      walletId: '',
      payeeWalletId: '',
      transferId: '',
      orderId: '',
      holdId: '',
      accountToken,
    };
    if (route === 'DELETE /api/v1/users/{id}/two-factor') {
      const self = { userId: target.id, role: 'user' as const };
      const { secret } = await services.twoFactor.start(self, target.id);
      const code = generateSync({ secret, epoch: Math.floor(Date.now() / 1000) });
      await services.twoFactor.confirm(self, target.id, code);
    }
    if (!/accounts|transfers|orders|holds/.test(route)) {
      return { target, productId, postId, ...none };
    }
    const payee = await createUserAndLogin(app.server, services);
    const wallet = (await services.accounts.walletOf(target.id))!;
    const deposit = await services.accounts.deposit(adminActor, wallet.id, {
      amount: 10_000,
      currency: 'USD',
    });
    const order = await services.orders.placeOrder({ userId: target.id, role: 'user' }, target.id, {
      items: [{ productId, quantity: 1 }],
    });
    const payeeWalletId = (await services.accounts.walletOf(payee.id))!.id;
    const capturing = route.endsWith('/capture');
    if (capturing) {
      await services.accounts.deposit(adminActor, payeeWalletId, { amount: 100, currency: 'USD' });
    }
    const hold = await services.holds.place(
      { userId: capturing ? payee.id : target.id, role: 'user' },
      {
        fromAccountId: capturing ? payeeWalletId : wallet.id,
        toAccountId: capturing ? wallet.id : payeeWalletId,
        amount: 10,
        currency: 'USD',
        hold: {},
      },
    );
    return {
      target,
      productId,
      postId,
      walletId: wallet.id,
      payeeWalletId,
      transferId: deposit.id,
      orderId: order.id,
      holdId: hold.id,
      accountToken,
    };
  }

  /** Issued as the account emails' jobs issue them; the verification routes' target unverified. */
  async function accountTokenFor(route: string, target: TestUser): Promise<string> {
    const db = app.database.db;
    if (/verify-email|resend-verification/.test(route)) {
      await sql`update users set email_verified_at = null where id = ${target.id}`.execute(db);
    }
    const tokens = new AccountTokensRepository(db);
    const issued = route.endsWith('/verify-email')
      ? await tokens.issue('verify-email', target.id, target.email, 60_000)
      : route.endsWith('/reset-password')
        ? await tokens.issue('reset-password', target.id, target.email, 60_000)
        : route.endsWith('/confirm-email-change')
          ? await tokens.issue('change-email', target.id, `moved-${target.email}`, 60_000)
          : '';
    return issued ?? '';
  }

  /** A callback as the provider sends the browser back: a sign-in through it, its cookie. */
  async function oidcCallbackRequest() {
    const start = await app.server.inject({ method: 'GET', url: '/api/v1/auth/oidc/authorize' });
    const browserKey = start.cookies.find((c) => c.name === 'stratum_oidc')!.value;
    const query = await provider.signIn(start.headers.location!, {
      sub: randomUUID(),
      email: `oidc-${randomUUID()}@example.com`,
      email_verified: true,
    });
    return {
      method: 'GET' as const,
      url: `/api/v1/auth/oidc/callback?${new URLSearchParams(query).toString()}`,
      payload: undefined,
      headers: { cookie: `stratum_oidc=${browserKey}` },
    };
  }

  it('when a route exists in either version, then the matrix has a row for it', async () => {
    // One document per version (README, "Versions"): every version's routes need a row.
    const documents = await Promise.all(
      ['/openapi/v1.json', '/openapi/v2.json'].map(async (url) =>
        (await app.server.inject({ method: 'GET', url })).json<OpenAPIV3_1.Document>(),
      ),
    );
    const routes = documents
      .flatMap((spec) => Object.entries(spec.paths ?? {}))
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, item]) =>
        Object.keys(item ?? {})
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      );
    assert.deepEqual(routes.sort(), Object.keys(MATRIX).sort());
  });

  for (const [route, row] of Object.entries(MATRIX)) {
    for (const who of Object.keys(row) as Who[]) {
      it(`when ${who} calls ${route}, then ${row[who]}`, async () => {
        // Fresh callers per case: a logout in one case must not sign out the next one.
        const fixture = await fixtureFor(route);
        const { target } = fixture;
        const token = {
          guest: async () => undefined,
          user: async () => (await createUserAndLogin(app.server, app.services)).accessToken,
          self: async () => target.accessToken,
          other: async () => (await createUserAndLogin(app.server, app.services)).accessToken,
          admin: async () => (await login(app.server, admin.email, admin.password)).accessToken,
        }[who];
        const accessToken = await token();
        const request =
          route === 'GET /api/v1/auth/oidc/callback'
            ? await oidcCallbackRequest()
            : requestFor(route, fixture);
        const res = await app.server.inject({
          ...request,
          headers: { ...request.headers, ...(accessToken ? bearer(accessToken) : {}) },
        });
        assert.equal(res.statusCode, row[who], `${route} as ${who}: ${res.body}`);
        if (res.statusCode >= 400) {
          assert.ok(res.json<{ error: { code: string } }>().error.code, 'error envelope');
        }
      });
    }
  }

  // The admin pages are not under /api, so the OpenAPI check above misses them: their rows are
  // checked against the routes the app registered under /admin. Below /admin/queues/ are
  // bull-board's pages, files and actions, all behind the one guard the two queue rows test.
  it('when a route exists under /admin, then the admin matrix has a row for it', () => {
    const registered = registeredRoutes(app.server.printRoutes({ commonPrefix: false })).filter(
      (route) => {
        const path = route.split(' ')[1]!;
        return path.startsWith('/admin') && !path.startsWith(`${QUEUES}/`);
      },
    );
    const listed = Object.keys(ADMIN_MATRIX).filter(
      (r) => !r.split(' ')[1]!.startsWith(`${QUEUES}/`),
    );
    assert.deepEqual(registered.sort(), listed.sort());
  });

  for (const [route, row] of Object.entries(ADMIN_MATRIX)) {
    for (const who of Object.keys(row) as AdminCaller[]) {
      it(`when ${who} calls ${route}, then ${row[who]}`, async () => {
        const caller = {
          guest: async () => undefined,
          user: async () => createUserAndLogin(app.server, app.services),
          admin: async () => ({
            ...admin,
            ...(await login(app.server, admin.email, admin.password)),
          }),
        }[who];
        const signedIn = await caller();
        const [method, url] = route.split(' ') as ['GET' | 'POST', string];
        const res = await app.server.inject({
          method,
          url,
          // The page's own origin, as a browser sends it: the CSRF check passes for everyone.
          headers: {
            host: ADMIN_HOST,
            origin: `http://${ADMIN_HOST}`,
            ...(signedIn ? bearer(signedIn.accessToken) : {}),
          },
          // The sign-in form is posted with the caller's own credentials (a guest has none).
          payload:
            route === 'POST /admin/login'
              ? signedIn
                ? { email: signedIn.email, password: signedIn.password }
                : {}
              : undefined,
        });
        assert.equal(res.statusCode, row[who], `${route} as ${who}: ${res.body}`);
        // The sign-in form answers a refusal with the form again; everything else in JSON.
        if (res.statusCode >= 400 && !route.startsWith('POST /admin/login')) {
          assert.ok(res.json<{ error: { code: string } }>().error.code, 'error envelope');
        }
      });
    }
  }

  it('when a token that is not a JWT opens the dashboard, then 401', async () => {
    const res = await app.server.inject({
      method: 'GET',
      url: QUEUES,
      headers: bearer('not-a-token'),
    });
    assert.equal(res.statusCode, 401);
  });
});
