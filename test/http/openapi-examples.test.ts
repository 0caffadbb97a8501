import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ACCOUNT_EXAMPLE,
  PAYEE_ACCOUNT_ID_EXAMPLE,
  TRANSFER_EXAMPLE,
} from '../../src/modules/accounts/accounts.schemas.js';
import { generateSync } from 'otplib';
import { REFRESH_TOKEN_EXAMPLE } from '../../src/modules/auth/auth.schemas.js';
import { STEP_TOKEN_EXAMPLE } from '../../src/modules/auth/two-factor.schemas.js';
import { SESSION_EXAMPLE } from '../../src/modules/auth/sessions.schemas.js';
import { HOLD_EXAMPLE, VOIDED_HOLD_EXAMPLE } from '../../src/modules/accounts/holds.schemas.js';
import { ORDER_EXAMPLE } from '../../src/modules/orders/orders.schemas.js';
import { POST_EXAMPLE } from '../../src/modules/posts/posts.schemas.js';
import { PRODUCT_EXAMPLE } from '../../src/modules/products/products.schemas.js';
import { PASSWORD_EXAMPLE, USER_EXAMPLE } from '../../src/modules/users/users.schemas.js';
import {
  EMAIL_CHANGE_TOKEN_EXAMPLE,
  RESET_TOKEN_EXAMPLE,
  VERIFY_TOKEN_EXAMPLE,
} from '../../src/modules/users/account-emails.schemas.js';
import { AccountTokensRepository } from '../../src/modules/users/account-tokens.repository.js';
import { MINOR_UNITS } from '../../src/platform/http/money.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, login, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';
import {
  allExamples,
  bodyOf,
  documentedOperations,
  fetchDocument,
  firstExample,
  parametersOf,
  schemaValidator,
  successesOf,
  type DocumentedOperation,
  type Schema,
} from '../support/openapi.js';

/**
 * The OpenAPI documents' examples are the API's own: every operation has them, each example
 * fits its schema, and an operation sent as its examples say (with the example ids swapped for
 * rows this test creates) succeeds with a body its documented schema accepts.
 */

const engine = engines.find((e) => e.name === 'postgres')!;

/** Money-like property names: each must say its unit (docs/reference/money.md). */
const MONEY = /^(amount|balance\w*|price\w*|total|\w+Total|\w+Price)$/;

/** Runs after the rest, in this order: each removes what others name. */
const LAST = [
  'DELETE /api/v1/users/{id}/sessions/{sessionId}',
  // Ends Ada's other sessions (her refresh token's among them).
  'POST /api/v1/auth/reset-password',
  // Moves Grace to another address, spending her verification links.
  'POST /api/v1/auth/confirm-email-change',
  'DELETE /api/v1/users/{id}/sessions',
  'DELETE /api/v1/posts/{id}',
  'DELETE /api/v1/products/{id}',
  'DELETE /api/v1/users/{id}',
];

function order(operations: DocumentedOperation[]) {
  const rank = (op: DocumentedOperation) => LAST.indexOf(op.name);
  return [...operations].sort((a, b) => rank(a) - rank(b));
}

/**
 * Every object schema in a value, with where it is and whether it or an object around it has a
 * `currency` (an order's lines are in the order's currency).
 */
function* schemasIn(
  node: unknown,
  at: string,
  priced = false,
): Generator<[string, Schema, boolean]> {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* schemasIn(item, `${at}/${i}`, priced);
    return;
  }
  const record = node as Record<string, unknown>;
  const properties = record.properties as Record<string, unknown> | undefined;
  const here = priced || (typeof properties === 'object' && 'currency' in properties);
  if (properties && typeof properties === 'object') yield [at, record, here];
  for (const [key, value] of Object.entries(record)) yield* schemasIn(value, `${at}/${key}`, here);
}

describe('OpenAPI examples (PostgreSQL)', { skip: engine.skip }, () => {
  let app: StartedApp;
  let admin: TestUser;
  let operations: DocumentedOperation[];
  const validatorOf = schemaValidator();

  before(async () => {
    app = await startApp(engine);
    admin = await createUserAndLogin(app.server, app.services, 'admin');
    operations = await documentedOperations(app.server);
  });
  after(async () => {
    await app?.close();
  });

  it('finds the operations of both documents', () => {
    assert.ok(operations.length >= 40, `${operations.length} operations`);
  });

  it('gives every parameter, body and 2xx response an example, and every 2xx a description', () => {
    const missing: string[] = [];
    for (const op of operations) {
      for (const p of parametersOf(op)) {
        if (firstExample(p) === undefined) missing.push(`${op.name}: parameter ${p.name}`);
      }
      const body = bodyOf(op);
      if (body && firstExample(body) === undefined) missing.push(`${op.name}: request body`);
      const successes = successesOf(op);
      if (successes.length === 0) missing.push(`${op.name}: no 2xx response`);
      for (const [status, response] of successes) {
        if (!response.description || response.description === 'Default Response') {
          missing.push(`${op.name}: ${status} description`);
        }
        // A 204 has no content, so nothing to show.
        const media = response.content?.['application/json'];
        if (media && firstExample(media) === undefined)
          missing.push(`${op.name}: ${status} example`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('writes examples that their own schemas accept', () => {
    const wrong: string[] = [];
    const check = (where: string, schema: unknown, examples: unknown[]) => {
      if (!schema) return;
      const validate = validatorOf(schema);
      for (const example of examples) {
        if (!validate(example)) wrong.push(`${where}: ${JSON.stringify(validate.errors)}`);
      }
    };
    for (const op of operations) {
      for (const p of parametersOf(op)) check(`${op.name} ${p.name}`, p.schema, allExamples(p));
      const body = bodyOf(op);
      if (body) check(`${op.name} body`, body.schema, allExamples(body));
      for (const [status, response] of successesOf(op)) {
        const media = response.content?.['application/json'];
        if (media) check(`${op.name} ${status}`, media.schema, allExamples(media));
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('states the unit of every money field, with a currency beside it or around it', async () => {
    const unstated: string[] = [];
    for (const version of [1, 2]) {
      const document = await fetchDocument(app.server, version);
      for (const [at, schema, priced] of schemasIn(document, `v${version}`)) {
        for (const [name, property] of Object.entries(schema.properties ?? {})) {
          if (!MONEY.test(name)) continue;
          const description = (property as Schema).description ?? '';
          if (!description.includes(MINOR_UNITS)) unstated.push(`${at}.${name}: ${description}`);
          if (!priced) unstated.push(`${at}.${name}: no currency beside it or around it`);
        }
      }
    }
    assert.deepEqual(unstated, []);
  });

  it('answers every operation, sent as its examples say, with a documented 2xx', async () => {
    const { services } = app;
    const adminActor = { userId: admin.id, role: 'admin' as const };
    // The rows the examples' ids stand for.
    const ada = await services.users.createUser(adminActor, {
      name: USER_EXAMPLE.name,
      email: USER_EXAMPLE.email,
      password: PASSWORD_EXAMPLE,
      role: 'user',
    });
    const adaActor = { userId: ada.id, role: 'user' as const };
    const payee = await createUserAndLogin(app.server, services);
    const wallet = (await services.accounts.walletOf(ada.id))!;
    const payeeWallet = (await services.accounts.walletOf(payee.id))!;
    const deposit = await services.accounts.deposit(adminActor, wallet.id, {
      amount: 1_000_000,
      currency: 'USD',
    });
    // Ada's holds for the payee: one the examples read and capture, one they void.
    const holdOf = () =>
      services.holds.place(adaActor, {
        fromAccountId: wallet.id,
        toAccountId: payeeWallet.id,
        amount: HOLD_EXAMPLE.amount,
        currency: 'USD',
        hold: {},
      });
    const [hold, holdToVoid] = [await holdOf(), await holdOf()];
    const product = await services.products.createProduct(adminActor, {
      name: PRODUCT_EXAMPLE.name,
      priceMinor: PRODUCT_EXAMPLE.priceMinor,
      currency: PRODUCT_EXAMPLE.currency,
    });
    const post = await services.posts.createPost(adaActor, {
      title: POST_EXAMPLE.title,
      content: POST_EXAMPLE.content,
    });
    const placed = await services.orders.placeOrder(adaActor, ada.id, {
      items: [{ productId: product.id, quantity: 2 }],
    });
    const { refreshToken } = await login(app.server, USER_EXAMPLE.email, PASSWORD_EXAMPLE);
    // Two-factor: codes computed from the secrets, as an authenticator app would. Ada has it
    // on (the admin turns it off); another user's login waits at the code step; the admin's own
    // enrolment (`me`) is confirmed with a code of the secret its start example returned.
    const totp = (secret: string, steps = 0) =>
      generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });
    const enable = async (actor: { userId: string; role: 'user' }) => {
      const { secret } = await services.twoFactor.start(actor, actor.userId);
      await services.twoFactor.confirm(actor, actor.userId, totp(secret, -1));
      return secret;
    };
    const { accessToken: adaToken } = await login(app.server, USER_EXAMPLE.email, PASSWORD_EXAMPLE);
    const adaSession = (
      JSON.parse(Buffer.from(adaToken.split('.')[1]!, 'base64url').toString()) as { sid: string }
    ).sid;
    await enable(adaActor);
    const bob = await createUserAndLogin(app.server, services);
    const bobSecret = await enable({ userId: bob.id, role: 'user' });
    const bobLogin = await app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: bob.email, password: bob.password },
    });
    const { stepToken } = bobLogin.json<{ data: { stepToken: string } }>().data;
    let adminSecret = '';
    const codeFor: Record<string, () => string> = {
      'POST /api/v1/auth/login/two-factor': () => totp(bobSecret),
      'POST /api/v1/users/{id}/two-factor/confirm': () => totp(adminSecret),
    };
    // A registered (unverified) user for the email links; the links' tokens issued as a job would.
    const grace = await services.auth.register(
      { userId: null, role: 'guest' },
      { name: 'Grace', email: `grace-${randomUUID()}@example.com`, password: PASSWORD_EXAMPLE },
    );
    const hedy = await services.auth.register(
      { userId: null, role: 'guest' },
      { name: 'Hedy', email: `hedy-${randomUUID()}@example.com`, password: PASSWORD_EXAMPLE },
    );
    const unverifiedSession = await login(app.server, hedy.email, PASSWORD_EXAMPLE);
    const mailed = new AccountTokensRepository(app.database.db);
    const issued = async (...args: Parameters<AccountTokensRepository['issue']>) =>
      (await mailed.issue(...args))!;
    const real = new Map<unknown, string>([
      [VERIFY_TOKEN_EXAMPLE, await issued('verify-email', grace.id, grace.email, 60_000)],
      [RESET_TOKEN_EXAMPLE, await issued('reset-password', ada.id, ada.email, 60_000)],
      [
        EMAIL_CHANGE_TOKEN_EXAMPLE,
        await issued('change-email', grace.id, `moved-${grace.email}`, 60_000),
      ],
      [USER_EXAMPLE.id, ada.id],
      [ACCOUNT_EXAMPLE.id, wallet.id],
      [PAYEE_ACCOUNT_ID_EXAMPLE, payeeWallet.id],
      [TRANSFER_EXAMPLE.id, deposit.id],
      [PRODUCT_EXAMPLE.id, product.id],
      [POST_EXAMPLE.id, post.id],
      [ORDER_EXAMPLE.id, placed.id],
      [HOLD_EXAMPLE.id, hold.id],
      [VOIDED_HOLD_EXAMPLE.id, holdToVoid.id],
      [REFRESH_TOKEN_EXAMPLE, refreshToken],
      [STEP_TOKEN_EXAMPLE, stepToken],
      [SESSION_EXAMPLE.id, adaSession],
    ]);
    const swap = (value: unknown): unknown => {
      if (typeof value === 'string') return real.get(value) ?? value;
      if (Array.isArray(value)) return value.map(swap);
      if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swap(v)]));
      }
      return value;
    };

    const failures: string[] = [];
    for (const op of order(operations)) {
      let url = op.path;
      const query = new URLSearchParams();
      const headers: Record<string, string> = { ...bearer(admin.accessToken) };
      for (const p of parametersOf(op)) {
        const value = String(swap(firstExample(p)));
        if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(value));
        else if (p.in === 'query') query.set(p.name, value);
        // One key is one request: each idempotent call gets its own, as a client's would.
        else if (p.in === 'header')
          headers[p.name] = p.name === 'idempotency-key' ? randomUUID() : value;
      }
      // Signing out ends the session of the token it is sent with: a session of its own.
      // A new verification link is for an account whose address is unverified.
      if (op.name === 'POST /api/v1/auth/resend-verification') {
        headers.authorization = bearer(unverifiedSession.accessToken).authorization;
      }
      // Signing out everywhere ends every session of its user: a user of its own.
      if (op.name === 'POST /api/v1/auth/logout-all') {
        headers.authorization = bearer(
          (await login(app.server, payee.email, payee.password)).accessToken,
        ).authorization;
      }
      if (op.name === 'POST /api/v1/auth/logout') {
        headers.authorization = bearer(
          (await login(app.server, admin.email, admin.password)).accessToken,
        ).authorization;
      }
      const body = bodyOf(op);
      const payload = body ? (swap(firstExample(body)) as Record<string, unknown>) : undefined;
      if (payload && codeFor[op.name]) payload.code = codeFor[op.name]!();
      const res = await app.server.inject({
        method: op.method as 'GET',
        url: query.size ? `${url}?${query.toString()}` : url,
        headers,
        ...(payload ? { payload } : {}),
      });
      if (op.name === 'POST /api/v1/users/{id}/two-factor' && res.statusCode === 201) {
        adminSecret = res.json<{ data: { secret: string } }>().data.secret;
      }
      const documented = new Map(successesOf(op));
      const response = documented.get(res.statusCode);
      if (!response) {
        failures.push(`${op.name} → ${res.statusCode} ${res.body.slice(0, 300)}`);
        continue;
      }
      const media = response.content?.['application/json'];
      if (!media) {
        if (res.body !== '') failures.push(`${op.name} → ${res.statusCode} with a body`);
        continue;
      }
      const validate = validatorOf(media.schema as Schema);
      if (!validate(res.json())) {
        failures.push(`${op.name} → body off its schema: ${JSON.stringify(validate.errors)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
