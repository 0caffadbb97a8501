import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, login, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { codesOf, graphql } from '../support/graphql.js';
import { assertLedgerInvariants, deposit, walletOf } from '../support/ledger.js';
import { cacheSetups, useInstrumentedApp } from '../support/setups.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const STRONG = 'violet staple orbit 93';
const NUL = 'before\u0000after';
/** Lone surrogates as a client writes them in JSON text: JSON.parse keeps them unpaired. */
const LONE_SURROGATES = ['\\ud800', '\\udfff', 'a\\udc00\\ud800b', 'x\\ud83d'];
const PAST_SAFE = ['9007199254740992', '9007199254740993', '-9007199254740993', '1e308', '1e400'];
const randomAddress = () => `10.${randomInt(255)}.${randomInt(255)}.${randomInt(1, 255)}`;

/** The id with every other character in upper case. */
const mixedCase = (id: string) =>
  [...id].map((c, i) => (i % 2 === 1 ? c.toUpperCase() : c)).join('');

/** Spellings of an id that are not its one accepted form, in any case. */
const foreignSpellings = (id: string) => [
  `{${id}}`,
  `{${id.toUpperCase()}}`,
  `urn:uuid:${id}`,
  `URN:UUID:${id.toUpperCase()}`,
  id.replace(/-/g, ''),
  ` ${id}`,
];

const cursorOf = (createdAt: string, id: string) =>
  Buffer.from(JSON.stringify({ createdAt, id }), 'utf8').toString('base64url');

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
  meta: { requestId: string };
}

function assertError(res: LightMyRequestResponse, status: number, code: string, what = '') {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.equal(res.json<ErrorBody>().error.code, code, `${what}: ${res.body}`);
}

describe('the request boundary', { skip: engine.skip }, () => {
  let app: StartedApp;
  let admin: TestUser;

  before(async () => {
    app = await startApp(engine);
    admin = await createUserAndLogin(app.server, app.services, 'admin');
  });
  after(() => app.close());

  const send = (options: {
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
    url: string;
    token?: string;
    payload?: object | string;
    headers?: Record<string, string>;
  }) =>
    app.server.inject({
      method: options.method,
      url: options.url,
      payload: options.payload,
      headers: {
        ...(options.token ? bearer(options.token) : {}),
        ...(typeof options.payload === 'string' ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      remoteAddress: randomAddress(),
    });
  const transfer = (user: TestUser, payload: object | string) =>
    send({
      method: 'POST',
      url: '/api/v1/transfers',
      token: user.accessToken,
      payload,
      headers: { 'idempotency-key': randomUUID() },
    });
  const placeOrder = (user: TestUser, payload: object | string, forUser = user.id) =>
    send({
      method: 'POST',
      url: `/api/v1/users/${forUser}/orders`,
      token: user.accessToken,
      payload,
      headers: { 'idempotency-key': randomUUID() },
    });
  const statementCount = async (user: TestUser, accountId: string) => {
    const res = await send({
      method: 'GET',
      url: `/api/v1/accounts/${accountId}/transactions`,
      token: user.accessToken,
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ meta: { totalCount: number } }>().meta.totalCount;
  };
  const orderCount = async (user: TestUser) => {
    const res = await send({
      method: 'GET',
      url: `/api/v1/users/${user.id}/orders`,
      token: user.accessToken,
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ meta: { totalCount: number } }>().meta.totalCount;
  };
  const product = async (priceMinor = 500) =>
    app.services.products.createProduct(
      { userId: admin.id, role: 'admin' },
      { name: 'Widget', description: '', priceMinor, currency: 'USD' },
    );

  async function funded(balance: number) {
    const user = await createUserAndLogin(app.server, app.services);
    const wallet = await walletOf(app.server, user);
    if (balance > 0) await deposit(app.server, admin, wallet.id, balance);
    return { user, wallet };
  }

  describe('identifiers have one spelling', () => {
    it('when a transfer names one wallet as both sides in two spellings, then 400 VALIDATION_ERROR and nothing moves', async () => {
      const a = await funded(1_000);
      const id = a.wallet.id;
      const pairs = [
        [id, id.toUpperCase()],
        [id.toUpperCase(), id],
        [id.toUpperCase(), id.toUpperCase()],
        [mixedCase(id), id.toUpperCase()],
      ];
      for (const [fromAccountId, toAccountId] of pairs) {
        const res = await transfer(a.user, {
          fromAccountId,
          toAccountId,
          amount: 100,
          currency: 'USD',
        });
        assertError(res, 400, 'VALIDATION_ERROR', `${fromAccountId} -> ${toAccountId}`);
      }
      assert.equal((await walletOf(app.server, a.user)).balance, 1_000);
      assert.equal(await statementCount(a.user, id), 1, 'only the deposit');
      await assertLedgerInvariants(app.database.db);
    });

    it('when a transfer names its wallets in upper case, then the money moves and the ids come back in lower case', async () => {
      const a = await funded(1_000);
      const b = await funded(0);
      const res = await transfer(a.user, {
        fromAccountId: a.wallet.id.toUpperCase(),
        toAccountId: mixedCase(b.wallet.id),
        amount: 250,
        currency: 'USD',
      });
      assert.equal(res.statusCode, 201, res.body);
      const moved = res.json<{ data: { fromAccountId: string; toAccountId: string } }>().data;
      assert.equal(moved.fromAccountId, a.wallet.id);
      assert.equal(moved.toAccountId, b.wallet.id);
      assert.equal((await walletOf(app.server, a.user)).balance, 750);
      assert.equal((await walletOf(app.server, b.user)).balance, 250);
      await assertLedgerInvariants(app.database.db);
    });

    it('when an admin changes their own password or email through their id in upper case without currentPassword, then 400 VALIDATION_ERROR', async () => {
      const me = await createUserAndLogin(app.server, app.services, 'admin');
      for (const id of [me.id.toUpperCase(), mixedCase(me.id)]) {
        for (const payload of [
          { password: 'amber kettle lantern 7' },
          { email: `new-${randomUUID()}@example.com` },
        ]) {
          const res = await send({
            method: 'PATCH',
            url: `/api/v1/users/${id}`,
            token: me.accessToken,
            payload,
          });
          assertError(res, 400, 'VALIDATION_ERROR', `PATCH ${id} ${JSON.stringify(payload)}`);
          assert.ok(
            res.json<ErrorBody>().error.details?.some((d) => d.field === 'body.currentPassword'),
            res.body,
          );
        }
        const replaced = await send({
          method: 'PUT',
          url: `/api/v1/users/${id}`,
          token: me.accessToken,
          payload: {
            name: 'Test',
            email: `new-${randomUUID()}@example.com`,
            role: 'admin',
            status: 'active',
          },
        });
        assertError(replaced, 400, 'VALIDATION_ERROR', `PUT ${id}`);
        const viaGraphql = await graphql(
          app.server,
          `
            mutation ($id: ID!, $input: UpdateUserInput!) {
              updateUser(id: $id, input: $input) {
                id
              }
            }
          `,
          {
            token: me.accessToken,
            variables: { id, input: { password: 'amber kettle lantern 7' } },
          },
        );
        assert.deepEqual(
          codesOf(viaGraphql.body),
          ['VALIDATION_ERROR'],
          JSON.stringify(viaGraphql.body),
        );
      }
      // Nothing changed: the old password still signs in, the session still stands.
      await login(app.server, me.email, me.password);
      const self = await send({ method: 'GET', url: '/api/v1/users/me', token: me.accessToken });
      assert.equal(self.statusCode, 200, self.body);
      assert.equal(self.json<{ data: { email: string } }>().data.email, me.email);
    });

    it('when a user reaches their own resources through their id in upper case, then they are theirs', async () => {
      const { user, wallet } = await funded(1_000);
      const item = await product(100);
      const id = user.id.toUpperCase();
      const read = await send({
        method: 'GET',
        url: `/api/v1/users/${id}`,
        token: user.accessToken,
      });
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.json<{ data: { id: string } }>().data.id, user.id);
      const accounts = await send({
        method: 'GET',
        url: `/api/v1/users/${id}/accounts`,
        token: user.accessToken,
      });
      assert.equal(accounts.statusCode, 200, accounts.body);
      const account = await send({
        method: 'GET',
        url: `/api/v1/accounts/${wallet.id.toUpperCase()}`,
        token: user.accessToken,
      });
      assert.equal(account.statusCode, 200, account.body);
      const ordered = await placeOrder(
        user,
        { items: [{ productId: item.id.toUpperCase(), quantity: 1 }] },
        id,
      );
      assert.equal(ordered.statusCode, 201, ordered.body);
      assert.equal(ordered.json<{ data: { userId: string } }>().data.userId, user.id);
      const renamed = await send({
        method: 'PATCH',
        url: `/api/v1/users/${mixedCase(user.id)}`,
        token: user.accessToken,
        payload: { name: 'Renamed' },
      });
      assert.equal(renamed.statusCode, 200, renamed.body);
      const me = await send({ method: 'GET', url: '/api/v1/users/me', token: user.accessToken });
      assert.equal(me.json<{ data: { name: string } }>().data.name, 'Renamed');
    });

    it('when an id is braced, a URN or unhyphenated in a path, then 400 VALIDATION_ERROR', async () => {
      const { user, wallet } = await funded(0);
      const item = await product();
      const paths = (id: string) =>
        [
          ['GET', `/api/v1/products/${id}`, admin],
          ['PATCH', `/api/v1/products/${id}`, admin],
          ['GET', `/api/v1/users/${id}`, admin],
          ['GET', `/api/v1/accounts/${id}`, user],
          ['GET', `/api/v1/users/${id}/orders`, user],
          ['GET', `/api/v2/users/${id}`, admin],
        ] as const;
      for (const [target, spellings] of [
        ['product', foreignSpellings(item.id)],
        ['user', foreignSpellings(user.id)],
        ['wallet', foreignSpellings(wallet.id)],
      ] as const) {
        for (const spelling of spellings) {
          for (const [method, url, actor] of paths(encodeURIComponent(spelling))) {
            const res = await send({
              method,
              url,
              token: actor.accessToken,
              payload: method === 'PATCH' ? { name: 'Nope' } : undefined,
            });
            assertError(res, 400, 'VALIDATION_ERROR', `${target} ${method} ${url}`);
          }
        }
      }
      const unchanged = await app.services.products.getProduct(
        { userId: admin.id, role: 'admin' },
        item.id,
      );
      assert.equal(unchanged.name, 'Widget');
    });

    it('when an id is braced, a URN or unhyphenated in a body, then 400 VALIDATION_ERROR and nothing moves', async () => {
      const a = await funded(1_000);
      const b = await funded(0);
      const item = await product(100);
      for (const spelling of foreignSpellings(b.wallet.id)) {
        const res = await transfer(a.user, {
          fromAccountId: a.wallet.id,
          toAccountId: spelling,
          amount: 10,
          currency: 'USD',
        });
        assertError(res, 400, 'VALIDATION_ERROR', `transfer to ${spelling}`);
      }
      for (const spelling of foreignSpellings(a.wallet.id)) {
        const res = await transfer(a.user, {
          fromAccountId: spelling,
          toAccountId: b.wallet.id,
          amount: 10,
          currency: 'USD',
        });
        assertError(res, 400, 'VALIDATION_ERROR', `transfer from ${spelling}`);
      }
      for (const spelling of foreignSpellings(item.id)) {
        const res = await placeOrder(a.user, { items: [{ productId: spelling, quantity: 1 }] });
        assertError(res, 400, 'VALIDATION_ERROR', `order of ${spelling}`);
      }
      assert.equal((await walletOf(app.server, a.user)).balance, 1_000);
      assert.equal((await walletOf(app.server, b.user)).balance, 0);
      assert.equal(await orderCount(a.user), 0);
    });

    it('when an id is braced, a URN or unhyphenated in a GraphQL argument, then VALIDATION_ERROR', async () => {
      const { user, wallet } = await funded(0);
      const post = await app.services.posts.createPost(
        { userId: user.id, role: 'user' },
        { title: 'Kept', content: 'Kept as it was.' },
      );
      const operations: [string, string, TestUser][] = [
        [`query ($id: ID!) { post(id: $id) { id } }`, post.id, user],
        [`query ($id: ID!) { user(id: $id) { id } }`, user.id, admin],
        [`query ($id: ID!) { account(id: $id) { id } }`, wallet.id, user],
        [
          `mutation ($id: ID!) { updatePost(id: $id, input: { title: "Changed" }) { id } }`,
          post.id,
          user,
        ],
        [`mutation ($id: ID!) { deletePost(id: $id) }`, post.id, user],
        [
          `mutation ($id: ID!) { updateUser(id: $id, input: { name: "Changed" }) { id } }`,
          user.id,
          admin,
        ],
      ];
      for (const [query, id, actor] of operations) {
        for (const spelling of foreignSpellings(id)) {
          const res = await graphql(app.server, query, {
            token: actor.accessToken,
            variables: { id: spelling },
          });
          assert.notEqual(res.statusCode, 500);
          assert.deepEqual(
            codesOf(res.body),
            ['VALIDATION_ERROR'],
            `${query} ${spelling}: ${JSON.stringify(res.body)}`,
          );
        }
        if (query.startsWith('query')) {
          // The one spelling, in upper case, is what the same argument accepts.
          const upper = await graphql<Record<string, { id: string }>>(app.server, query, {
            token: actor.accessToken,
            variables: { id: id.toUpperCase() },
          });
          assert.deepEqual(upper.body.errors, undefined, JSON.stringify(upper.body));
          assert.equal(Object.values(upper.body.data ?? {})[0]?.id, id, JSON.stringify(upper.body));
        }
      }
      const kept = await app.services.posts.getPost({ userId: user.id, role: 'user' }, post.id);
      assert.equal(kept.title, 'Kept');
    });

    it('when someone signs in with their email in another case, then it works', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      await login(app.server, user.email.toUpperCase(), user.password);
      await login(app.server, mixedCase(user.email), user.password);
    });

    it('when someone registers with an upper-case email, then it is stored in lower case and taken in every case', async () => {
      const email = `Reg-${randomUUID()}@Example.COM`;
      const res = await send({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { name: 'Reg', email, password: STRONG },
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json<{ data: { email: string } }>().data.email, email.toLowerCase());
      await login(app.server, email.toLowerCase(), STRONG);
      await login(app.server, email.toUpperCase(), STRONG);
      const again = await send({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { name: 'Reg', email: email.toLowerCase(), password: STRONG },
      });
      assertError(again, 409, 'EMAIL_TAKEN');
    });
  });

  describe('text is what PostgreSQL can store', () => {
    it('when U+0000 is in any text field of a REST body, then 400 VALIDATION_ERROR, never 500, and nothing is written', async () => {
      const { user, wallet } = await funded(1_000);
      const other = await funded(0);
      const item = await product();
      const email = `nul-${randomUUID()}@example.com`;
      const cases: [string, Parameters<typeof send>[0]][] = [
        [
          'register name',
          {
            method: 'POST',
            url: '/api/v1/auth/register',
            payload: { name: NUL, email, password: STRONG },
          },
        ],
        [
          'admin create name',
          {
            method: 'POST',
            url: '/api/v1/users',
            token: admin.accessToken,
            payload: { name: NUL, email, password: STRONG },
          },
        ],
        [
          'PATCH own name',
          {
            method: 'PATCH',
            url: `/api/v1/users/${user.id}`,
            token: user.accessToken,
            payload: { name: NUL },
          },
        ],
        [
          'PATCH name by admin',
          {
            method: 'PATCH',
            url: `/api/v1/users/${user.id}`,
            token: admin.accessToken,
            payload: { name: NUL },
          },
        ],
        [
          'product name',
          {
            method: 'POST',
            url: '/api/v1/products',
            token: admin.accessToken,
            payload: { name: NUL, priceMinor: 1, currency: 'USD' },
          },
        ],
        [
          'product description',
          {
            method: 'POST',
            url: '/api/v1/products',
            token: admin.accessToken,
            payload: { name: 'Ok', description: NUL, priceMinor: 1, currency: 'USD' },
          },
        ],
        [
          'PATCH product name',
          {
            method: 'PATCH',
            url: `/api/v1/products/${item.id}`,
            token: admin.accessToken,
            payload: { name: NUL },
          },
        ],
        [
          'PATCH product description',
          {
            method: 'PATCH',
            url: `/api/v1/products/${item.id}`,
            token: admin.accessToken,
            payload: { description: NUL },
          },
        ],
        [
          'PUT product description',
          {
            method: 'PUT',
            url: `/api/v1/products/${item.id}`,
            token: admin.accessToken,
            payload: {
              name: 'Widget',
              description: NUL,
              priceMinor: 500,
              currency: 'USD',
              active: true,
            },
          },
        ],
        [
          'transfer reference',
          {
            method: 'POST',
            url: '/api/v1/transfers',
            token: user.accessToken,
            headers: { 'idempotency-key': randomUUID() },
            payload: {
              fromAccountId: wallet.id,
              toAccountId: other.wallet.id,
              amount: 10,
              currency: 'USD',
              reference: NUL,
            },
          },
        ],
        [
          'deposit reference',
          {
            method: 'POST',
            url: `/api/v1/accounts/${wallet.id}/deposits`,
            token: admin.accessToken,
            headers: { 'idempotency-key': randomUUID() },
            payload: { amount: 10, currency: 'USD', reference: NUL },
          },
        ],
        [
          'post title',
          {
            method: 'POST',
            url: '/api/v1/posts',
            token: user.accessToken,
            payload: { title: NUL, content: 'Fine.' },
          },
        ],
        [
          'post content',
          {
            method: 'POST',
            url: '/api/v1/posts',
            token: user.accessToken,
            payload: { title: 'Fine', content: NUL },
          },
        ],
      ];
      for (const [what, request] of cases) {
        assertError(await send(request), 400, 'VALIDATION_ERROR', what);
      }
      const me = await send({ method: 'GET', url: '/api/v1/users/me', token: user.accessToken });
      assert.equal(me.json<{ data: { name: string } }>().data.name, 'Test');
      const kept = await app.services.products.getProduct(
        { userId: admin.id, role: 'admin' },
        item.id,
      );
      assert.deepEqual([kept.name, kept.description], ['Widget', '']);
      assert.equal((await walletOf(app.server, user)).balance, 1_000);
      assert.equal((await walletOf(app.server, other.user)).balance, 0);
      const registered = await app.database.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email)
        .executeTakeFirst();
      assert.equal(registered, undefined);
    });

    it('when a lone surrogate is sent as JSON text in any text field, then 400 VALIDATION_ERROR', async () => {
      const { user, wallet } = await funded(1_000);
      const other = await funded(0);
      const item = await product();
      for (const lone of LONE_SURROGATES) {
        const text = `"${lone}"`;
        const cases: [string, Parameters<typeof send>[0]][] = [
          [
            'register name',
            {
              method: 'POST',
              url: '/api/v1/auth/register',
              payload: `{"name":${text},"email":"s-${randomUUID()}@example.com","password":"${STRONG}"}`,
            },
          ],
          [
            'PATCH own name',
            {
              method: 'PATCH',
              url: `/api/v1/users/${user.id}`,
              token: user.accessToken,
              payload: `{"name":${text}}`,
            },
          ],
          [
            'product name',
            {
              method: 'POST',
              url: '/api/v1/products',
              token: admin.accessToken,
              payload: `{"name":${text},"priceMinor":1,"currency":"USD"}`,
            },
          ],
          [
            'PATCH product description',
            {
              method: 'PATCH',
              url: `/api/v1/products/${item.id}`,
              token: admin.accessToken,
              payload: `{"description":${text}}`,
            },
          ],
          [
            'transfer reference',
            {
              method: 'POST',
              url: '/api/v1/transfers',
              token: user.accessToken,
              headers: { 'idempotency-key': randomUUID() },
              payload: `{"fromAccountId":"${wallet.id}","toAccountId":"${other.wallet.id}","amount":10,"currency":"USD","reference":${text}}`,
            },
          ],
          [
            'deposit reference',
            {
              method: 'POST',
              url: `/api/v1/accounts/${wallet.id}/deposits`,
              token: admin.accessToken,
              headers: { 'idempotency-key': randomUUID() },
              payload: `{"amount":10,"currency":"USD","reference":${text}}`,
            },
          ],
          [
            'post title',
            {
              method: 'POST',
              url: '/api/v1/posts',
              token: user.accessToken,
              payload: `{"title":${text},"content":"Fine."}`,
            },
          ],
        ];
        for (const [what, request] of cases) {
          assertError(await send(request), 400, 'VALIDATION_ERROR', `${what} ${lone}`);
        }
      }
      assert.equal((await walletOf(app.server, user)).balance, 1_000);
      const me = await send({ method: 'GET', url: '/api/v1/users/me', token: user.accessToken });
      assert.equal(me.json<{ data: { name: string } }>().data.name, 'Test');
    });

    it('when a text holds a proper surrogate pair, then it is stored and read back as sent', async () => {
      const res = await send({
        method: 'POST',
        url: '/api/v1/products',
        token: admin.accessToken,
        payload:
          '{"name":"Mug \\ud83d\\ude00","description":"\\ud83c\\udf75 tea","priceMinor":1,"currency":"USD"}',
      });
      assert.equal(res.statusCode, 201, res.body);
      const { id } = res.json<{ data: { id: string } }>().data;
      const read = await send({ method: 'GET', url: `/api/v1/products/${id}` });
      const body = read.json<{ data: { name: string; description: string } }>().data;
      assert.deepEqual([body.name, body.description], ['Mug \u{1F600}', '\u{1F375} tea']);
    });

    it('when U+0000 or a lone surrogate is in a GraphQL argument, then VALIDATION_ERROR, never a 500', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const createPost = `mutation ($input: CreatePostInput!) { createPost(input: $input) { id } }`;
      const createUser = `mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }`;
      const email = `gql-${randomUUID()}@example.com`;
      const cases: [string, string, Record<string, unknown>, TestUser][] = [
        ['createPost title', createPost, { input: { title: NUL, content: 'Fine.' } }, user],
        ['createPost content', createPost, { input: { title: 'Fine', content: NUL } }, user],
        ['createUser name', createUser, { input: { name: NUL, email, password: STRONG } }, admin],
        [
          'updateUser name',
          `mutation ($input: UpdateUserInput!) { updateUser(id: "${user.id}", input: $input) { id } }`,
          { input: { name: NUL } },
          user,
        ],
      ];
      for (const [what, query, variables, actor] of cases) {
        const res = await graphql(app.server, query, { token: actor.accessToken, variables });
        assert.notEqual(res.statusCode, 500, what);
        assert.deepEqual(
          codesOf(res.body),
          ['VALIDATION_ERROR'],
          `${what}: ${JSON.stringify(res.body)}`,
        );
      }
      for (const lone of LONE_SURROGATES) {
        for (const [what, query, variables, actor] of [
          ['createPost title', createPost, `{"input":{"title":"${lone}","content":"Fine."}}`, user],
          [
            'createUser name',
            createUser,
            `{"input":{"name":"${lone}","email":"${email}","password":"${STRONG}"}}`,
            admin,
          ],
        ] as const) {
          const res = await app.server.inject({
            method: 'POST',
            url: '/graphql',
            headers: { ...bearer(actor.accessToken), 'content-type': 'application/json' },
            payload: `{"query":${JSON.stringify(query)},"variables":${variables}}`,
          });
          assert.notEqual(res.statusCode, 500, `${what} ${lone}`);
          assert.deepEqual(
            codesOf(res.json()),
            ['VALIDATION_ERROR'],
            `${what} ${lone}: ${res.body}`,
          );
        }
      }
      const created = await app.database.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email)
        .executeTakeFirst();
      assert.equal(created, undefined);
      const posts = await app.database.db
        .selectFrom('posts')
        .select('id')
        .where('author_id', '=', user.id)
        .execute();
      assert.equal(posts.length, 0);
    });
  });

  describe('bodies are JSON as sent; text parts are coerced', () => {
    it('when an order line quantity is not a JSON integer, then 400 and nothing is charged', async () => {
      const { user } = await funded(10_000);
      const item = await product(100);
      for (const quantity of ['2', true, ['2'], [2], null, 2.5, '2e0', { value: 2 }, false]) {
        const res = await placeOrder(user, { items: [{ productId: item.id, quantity }] });
        assertError(res, 400, 'VALIDATION_ERROR', `quantity ${JSON.stringify(quantity)}`);
      }
      assert.equal((await walletOf(app.server, user)).balance, 10_000);
      assert.equal(await orderCount(user), 0);
    });

    it('when other body fields come as strings, booleans or arrays, then 400 VALIDATION_ERROR', async () => {
      const { user, wallet } = await funded(1_000);
      const other = await funded(0);
      const item = await product();
      const cases: [string, Parameters<typeof send>[0]][] = [
        [
          'password as a number',
          {
            method: 'POST',
            url: '/api/v1/auth/register',
            payload: { name: 'Num', email: `num-${randomUUID()}@example.com`, password: 12345678 },
          },
        ],
        [
          'name as a number',
          {
            method: 'POST',
            url: '/api/v1/auth/register',
            payload: { name: 1234, email: `num-${randomUUID()}@example.com`, password: STRONG },
          },
        ],
        [
          'login password as a number',
          {
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { email: user.email, password: 12345678 },
          },
        ],
        [
          'price as a string',
          {
            method: 'POST',
            url: '/api/v1/products',
            token: admin.accessToken,
            payload: { name: 'P', priceMinor: '100', currency: 'USD' },
          },
        ],
        [
          'active as a string',
          {
            method: 'PATCH',
            url: `/api/v1/products/${item.id}`,
            token: admin.accessToken,
            payload: { active: 'false' },
          },
        ],
        [
          'price as an array',
          {
            method: 'PATCH',
            url: `/api/v1/products/${item.id}`,
            token: admin.accessToken,
            payload: { priceMinor: [100] },
          },
        ],
        [
          'amount as true',
          {
            method: 'POST',
            url: '/api/v1/transfers',
            token: user.accessToken,
            headers: { 'idempotency-key': randomUUID() },
            payload: {
              fromAccountId: wallet.id,
              toAccountId: other.wallet.id,
              amount: true,
              currency: 'USD',
            },
          },
        ],
        [
          'deposit amount as a string',
          {
            method: 'POST',
            url: `/api/v1/accounts/${wallet.id}/deposits`,
            token: admin.accessToken,
            headers: { 'idempotency-key': randomUUID() },
            payload: { amount: '10', currency: 'USD' },
          },
        ],
      ];
      for (const [what, request] of cases) {
        assertError(await send(request), 400, 'VALIDATION_ERROR', what);
      }
      const kept = await app.services.products.getProduct(
        { userId: admin.id, role: 'admin' },
        item.id,
      );
      assert.deepEqual([kept.priceMinor, kept.active], [500, true]);
      assert.equal((await walletOf(app.server, user)).balance, 1_000);
    });

    it('when page and pageSize come in the query string, then they are coerced and the list works', async () => {
      for (let i = 0; i < 7; i++) await product(100 + i);
      const res = await send({ method: 'GET', url: '/api/v1/products?page=2&pageSize=5' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<{ data: unknown[]; meta: { page: number; pageSize: number } }>();
      assert.deepEqual([body.meta.page, body.meta.pageSize], [2, 5]);
      assert.ok(body.data.length >= 1 && body.data.length <= 5);
      const users = await send({
        method: 'GET',
        url: '/api/v1/users?page=1&pageSize=2',
        token: admin.accessToken,
      });
      assert.equal(users.statusCode, 200, users.body);
      assert.equal(users.json<{ data: unknown[] }>().data.length, 2);
      const v2 = await send({
        method: 'GET',
        url: '/api/v2/users?limit=1',
        token: admin.accessToken,
      });
      assert.equal(v2.statusCode, 200, v2.body);
      assert.equal(v2.json<{ data: unknown[] }>().data.length, 1);
      for (const query of [
        'page=two',
        'pageSize=0',
        'page=1.5',
        'page=9007199254740993',
        'page=Infinity',
        'pageSize=-Infinity',
        'page=1e400',
      ]) {
        const bad = await send({ method: 'GET', url: `/api/v1/products?${query}` });
        assertError(bad, 400, 'VALIDATION_ERROR', query);
      }
    });

    it('when a body integer is past 2^53 or not finite, then 400 VALIDATION_ERROR and nothing is written', async () => {
      const { user, wallet } = await funded(1_000);
      const other = await funded(0);
      const item = await product(100);
      for (const big of PAST_SAFE) {
        const cases: [string, Parameters<typeof send>[0]][] = [
          [
            'transfer amount',
            {
              method: 'POST',
              url: '/api/v1/transfers',
              token: user.accessToken,
              headers: { 'idempotency-key': randomUUID() },
              payload: `{"fromAccountId":"${wallet.id}","toAccountId":"${other.wallet.id}","amount":${big},"currency":"USD"}`,
            },
          ],
          [
            'deposit amount',
            {
              method: 'POST',
              url: `/api/v1/accounts/${wallet.id}/deposits`,
              token: admin.accessToken,
              headers: { 'idempotency-key': randomUUID() },
              payload: `{"amount":${big},"currency":"USD"}`,
            },
          ],
          [
            'product price',
            {
              method: 'POST',
              url: '/api/v1/products',
              token: admin.accessToken,
              payload: `{"name":"Big","priceMinor":${big},"currency":"USD"}`,
            },
          ],
          [
            'PATCH product price',
            {
              method: 'PATCH',
              url: `/api/v1/products/${item.id}`,
              token: admin.accessToken,
              payload: `{"priceMinor":${big}}`,
            },
          ],
          [
            'order quantity',
            {
              method: 'POST',
              url: `/api/v1/users/${user.id}/orders`,
              token: user.accessToken,
              headers: { 'idempotency-key': randomUUID() },
              payload: `{"items":[{"productId":"${item.id}","quantity":${big}}]}`,
            },
          ],
        ];
        for (const [what, request] of cases) {
          assertError(await send(request), 400, 'VALIDATION_ERROR', `${what} ${big}`);
        }
      }
      assert.equal((await walletOf(app.server, user)).balance, 1_000);
      assert.equal((await walletOf(app.server, other.user)).balance, 0);
      assert.equal(await orderCount(user), 0);
      const kept = await app.services.products.getProduct(
        { userId: admin.id, role: 'admin' },
        item.id,
      );
      assert.equal(kept.priceMinor, 100);
      await assertLedgerInvariants(app.database.db);
    });
  });

  describe('v2 cursors name only instants PostgreSQL holds', () => {
    const OUTSIDE = [
      '0000-01-01T00:00:00.000Z',
      '0000-12-31T23:59:59.999Z',
      '+010000-01-01T00:00:00.000Z',
      '10000-01-01T00:00:00.000Z',
      '-000001-01-01T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
    ];
    const INSIDE = ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'];

    it('when a cursor names a year outside 0001..9999, then 400 INVALID_CURSOR on every v2 list', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const lists = [
        ['/api/v2/users', admin],
        ['/api/v2/posts', user],
      ] as const;
      for (const createdAt of OUTSIDE) {
        for (const [list, actor] of lists) {
          const cursor = cursorOf(createdAt, randomUUID());
          const res = await send({
            method: 'GET',
            url: `${list}?cursor=${cursor}`,
            token: actor.accessToken,
          });
          assertError(res, 400, 'INVALID_CURSOR', `${list} ${createdAt}`);
        }
      }
    });

    it('when a cursor names the first or the last instant of the range, or an id in upper case, then the list answers', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      for (const createdAt of INSIDE) {
        for (const [list, actor] of [
          ['/api/v2/users', admin],
          ['/api/v2/posts', user],
        ] as const) {
          const cursor = cursorOf(createdAt, randomUUID().toUpperCase());
          const res = await send({
            method: 'GET',
            url: `${list}?cursor=${cursor}`,
            token: actor.accessToken,
          });
          assert.equal(res.statusCode, 200, `${list} ${createdAt}: ${res.body}`);
        }
      }
    });
  });
});

for (const setup of cacheSetups) {
  describe(`a product through its id in any case on ${setup.name}`, { skip: setup.skip }, () => {
    const context = useInstrumentedApp(setup);

    const request = (method: 'GET' | 'PATCH' | 'PUT' | 'DELETE', id: string, payload?: object) =>
      context.app.server.inject({
        method,
        url: `/api/v1/products/${id}`,
        headers: bearer(context.admin.accessToken),
        payload,
      });
    const readAll = async (spellings: string[], id: string, want: Record<string, unknown>) => {
      for (let round = 0; round < 3; round++) {
        for (const spelling of spellings) {
          const res = await request('GET', spelling);
          assert.equal(res.statusCode, 200, res.body);
          const body = res.json<{ data: Record<string, unknown> }>().data;
          assert.deepEqual(
            { ...body, ...want, id },
            body,
            `round ${round}, read by ${spelling}: ${res.body}`,
          );
        }
      }
    };

    it('when a product is written through its id in upper case, then every spelling reads the new row, every time', async () => {
      const created = await context.app.server.inject({
        method: 'POST',
        url: '/api/v1/products',
        headers: bearer(context.admin.accessToken),
        payload: { name: 'Kettle', priceMinor: 3500, currency: 'USD' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const { id } = created.json<{ data: { id: string } }>().data;
      const spellings = [id, id.toUpperCase(), mixedCase(id)];
      // Every spelling read (and cached, if it were cached by spelling) before the writes.
      await readAll(spellings, id, { name: 'Kettle', priceMinor: 3500 });

      const patched = await request('PATCH', id.toUpperCase(), {
        name: 'Renamed',
        priceMinor: 3900,
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json<{ data: { id: string } }>().data.id, id);
      await readAll(spellings, id, { name: 'Renamed', priceMinor: 3900 });

      const put = await request('PUT', mixedCase(id), {
        name: 'Put',
        description: 'replaced',
        priceMinor: 4100,
        currency: 'USD',
        active: true,
      });
      assert.equal(put.statusCode, 200, put.body);
      await readAll(spellings, id, { name: 'Put', description: 'replaced', priceMinor: 4100 });

      const removed = await request('DELETE', id.toUpperCase());
      assert.ok(removed.statusCode < 300, removed.body);
      await readAll(spellings, id, { active: false });
      for (const spelling of spellings) {
        const guest = await context.app.server.inject({
          method: 'GET',
          url: `/api/v1/products/${spelling}`,
        });
        assert.equal(guest.statusCode, 404, `guest read by ${spelling}: ${guest.body}`);
      }

      const restored = await request('PATCH', id, { active: true });
      assert.equal(restored.statusCode, 200, restored.body);
      await readAll(spellings, id, { active: true, name: 'Put' });
      for (const spelling of spellings) {
        const guest = await context.app.server.inject({
          method: 'GET',
          url: `/api/v1/products/${spelling}`,
        });
        assert.equal(guest.statusCode, 200, `guest read by ${spelling}: ${guest.body}`);
      }

      if (context.redis) {
        const keys = await context.redis.keys(
          `stratum:v1:product:*${id.slice(-12).toUpperCase()}*`,
        );
        assert.deepEqual(keys, [], 'no cache entry under another spelling');
      }
    });
  });
}
