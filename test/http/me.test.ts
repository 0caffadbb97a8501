import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OpenAPIV3_1 } from 'openapi-types';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';

/**
 * `me` wherever a path names a user: the same answer as the caller's own id, 401 for a guest,
 * and never anyone else (it is replaced by the caller's id before the route runs).
 */

const engine = engines.find((e) => e.name === 'postgres')!;

/** Every documented operation whose path names a user by `{id}`, read from both documents. */
async function userOperations(app: StartedApp) {
  const found: { method: string; path: string; parameter: OpenAPIV3_1.ParameterObject }[] = [];
  for (const version of [1, 2]) {
    const res = await app.server.inject({ method: 'GET', url: `/openapi/v${version}.json` });
    const document = res.json<OpenAPIV3_1.Document>();
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      if (!/\/users\/\{id\}/.test(path)) continue;
      for (const method of ['get', 'put', 'patch', 'delete', 'post'] as const) {
        const op = item?.[method];
        if (!op) continue;
        const parameter = (op.parameters ?? []).find(
          (p) => 'name' in p && p.name === 'id',
        ) as OpenAPIV3_1.ParameterObject;
        found.push({ method: method.toUpperCase(), path, parameter });
      }
    }
  }
  return found;
}

describe('`me` in user paths (PostgreSQL)', { skip: engine.skip }, () => {
  let app: StartedApp;
  let user: TestUser;
  let productId: string;

  const call = (method: string, url: string, token?: string, payload?: object) =>
    app.server.inject({
      method: method as 'GET',
      url,
      headers: token ? bearer(token) : {},
      ...(payload ? { payload } : {}),
    });

  before(async () => {
    app = await startApp(engine);
    user = await createUserAndLogin(app.server, app.services);
    const boss = await createUserAndLogin(app.server, app.services, 'admin');
    const admin = { userId: boss.id, role: 'admin' as const };
    const { accounts, products, posts, orders } = app.services;
    const wallet = (await accounts.walletOf(user.id))!;
    await accounts.deposit(admin, wallet.id, { amount: 100_000, currency: 'USD' });
    const product = { name: 'Kettle', priceMinor: 3500, currency: 'USD' };
    productId = (await products.createProduct(admin, product)).id;
    const self = { userId: user.id, role: 'user' as const };
    await posts.createPost(self, { title: 'Mine', content: 'Written by the caller.' });
    await orders.placeOrder(self, user.id, { items: [{ productId, quantity: 1 }] });
    // Someone else's things, which `me` must never show.
    const other = await createUserAndLogin(app.server, app.services);
    const otherActor = { userId: other.id, role: 'user' as const };
    await posts.createPost(otherActor, { title: 'Theirs', content: 'Not the caller’s.' });
  });
  after(async () => {
    await app?.close();
  });

  it('documents `me` on every path parameter that names a user', async () => {
    const operations = await userOperations(app);
    assert.ok(operations.length >= 10, `found ${operations.length}`);
    for (const { method, path, parameter } of operations) {
      const schema = parameter.schema as OpenAPIV3_1.SchemaObject;
      const alternatives = (schema.anyOf ?? []) as OpenAPIV3_1.SchemaObject[];
      assert.ok(
        // @fastify/swagger writes a `const` as a one-value enum.
        alternatives.some((s) => s.const === 'me' || (s.enum?.length === 1 && s.enum[0] === 'me')),
        `${method} ${path}: ${JSON.stringify(schema)}`,
      );
      assert.match(parameter.description ?? '', /`me`/, `${method} ${path}`);
    }
  });

  const reads = [
    '/api/v1/users/{id}',
    '/api/v2/users/{id}',
    '/api/v1/users/{id}/profile',
    '/api/v1/users/{id}/posts',
    '/api/v1/users/{id}/accounts',
    '/api/v1/users/{id}/orders',
  ];
  for (const path of reads) {
    it(`when a user reads GET ${path} as me, then it is the answer for their own id`, async () => {
      const mine = await call('GET', path.replace('{id}', 'me'), user.accessToken);
      const byId = await call('GET', path.replace('{id}', user.id), user.accessToken);
      assert.equal(mine.statusCode, 200, mine.body);
      assert.equal(byId.statusCode, 200, byId.body);
      const body = (res: typeof mine) => {
        const { data, links } = res.json<{ data: unknown; links?: Record<string, string> }>();
        // Links repeat the path as asked; everything else is the same.
        return { data, pages: links ? Object.keys(links) : [] };
      };
      assert.deepEqual(body(mine), body(byId));
      const data = mine.json<{ data: { id?: string; authorId?: string; userId?: string }[] }>()
        .data;
      for (const item of Array.isArray(data) ? data : [data]) {
        const owner = item.authorId ?? item.userId ?? item.id;
        assert.equal(owner, user.id, `${path}: only the caller's`);
      }
    });
  }

  it('when a user changes themselves through me, then their own record changes', async () => {
    const patched = await call('PATCH', '/api/v1/users/me', user.accessToken, { name: 'Me' });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json<{ data: { id: string; name: string } }>().data.id, user.id);
    const replaced = await call('PUT', '/api/v1/users/me', user.accessToken, {
      name: 'Myself',
      email: user.email,
      role: 'user',
      status: 'active',
    });
    assert.equal(replaced.statusCode, 200, replaced.body);
    assert.equal(replaced.json<{ data: { id: string } }>().data.id, user.id);
    const read = await call('GET', `/api/v1/users/${user.id}`, user.accessToken);
    assert.equal(read.json<{ data: { name: string } }>().data.name, 'Myself');
  });

  it('when a user deletes me, then the answer is the one for their own id', async () => {
    const mine = await call('DELETE', '/api/v1/users/me', user.accessToken);
    const byId = await call('DELETE', `/api/v1/users/${user.id}`, user.accessToken);
    assert.equal(mine.statusCode, byId.statusCode, mine.body);
    assert.deepEqual(mine.json<{ error: unknown }>().error, byId.json<{ error: unknown }>().error);
  });

  it('when a user orders for me, then the order is theirs, paid from their wallet', async () => {
    const order = { items: [{ productId, quantity: 2 }] };
    const res = await call('POST', '/api/v1/users/me/orders', user.accessToken, order);
    assert.equal(res.statusCode, 201, res.body);
    const data = res.json<{ data: { userId: string; status: string; total: number } }>().data;
    assert.deepEqual([data.userId, data.status, data.total], [user.id, 'paid', 7000]);
    assert.match(String(res.headers.location), /^\/api\/v1\/orders\//);
  });

  it('when an admin uses me, then it names the admin, not anyone else', async () => {
    const boss = await createUserAndLogin(app.server, app.services, 'admin');
    const res = await call('GET', '/api/v2/users/me', boss.accessToken);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ data: { id: string } }>().data.id, boss.id);
  });

  it('when a guest uses me anywhere, then 401 in the envelope', async () => {
    for (const { method, path } of await userOperations(app)) {
      const payload = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;
      const res = await call(method, path.replace('{id}', 'me'), undefined, payload);
      assert.equal(res.statusCode, 401, `${method} ${path}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'UNAUTHORIZED');
      assert.equal(res.headers['www-authenticate'], 'Bearer');
    }
  });

  it('when me is spelled otherwise, then it is not me (400)', async () => {
    const caller = await createUserAndLogin(app.server, app.services);
    for (const spelling of ['ME', 'Me', 'me%20', 'me.', '%6De']) {
      const res = await call('GET', `/api/v1/users/${spelling}/accounts`, caller.accessToken);
      // `%6De` is `me` percent-encoded: the router decodes it first, so it is `me`.
      const expected = spelling === '%6De' ? 200 : 400;
      assert.equal(res.statusCode, expected, `${spelling}: ${res.body}`);
    }
  });

  it('when the token is bad, then 401 for the token, before me is looked at', async () => {
    const res = await call('GET', '/api/v1/users/me/orders', 'not-a-jwt');
    assert.equal(res.statusCode, 401);
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'INVALID_TOKEN');
  });
});
