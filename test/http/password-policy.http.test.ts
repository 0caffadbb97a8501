import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { codesOf, graphql, type GraphqlBody } from '../support/graphql.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const STRONG = 'violet staple orbit 93';
const COMMON = ['password1', '12345678', 'qwertyuiop'];
const NAME = 'Margaret Hamilton';
const randomAddress = () => `10.${randomInt(255)}.${randomInt(255)}.${randomInt(1, 255)}`;
const newEmail = () => `pw-${randomUUID()}@example.com`;

interface ErrorBody {
  error: { code: string; details?: { reason?: string } };
}

/** The weak passwords for an account with this email and name, with the reason each gets. */
function weakFor(email: string, name = NAME): [string, 'common' | 'email' | 'name'][] {
  const local = email.slice(0, email.indexOf('@'));
  return [
    ...COMMON.map((p): [string, 'common'] => [p, 'common']),
    // Case and a suffix don't hide it.
    ['PassWord1', 'common'],
    [`${email}!`, 'email'],
    [`my ${email.toUpperCase()} pw`, 'email'],
    [`${local}123`, 'email'],
    [name.toLowerCase(), 'name'],
    [name, 'name'],
  ];
}

function assertWeak(res: LightMyRequestResponse, reason: string, what: string) {
  assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
  const { error } = res.json<ErrorBody>();
  assert.equal(error.code, 'WEAK_PASSWORD', `${what}: ${res.body}`);
  assert.equal(error.details?.reason, reason, `${what}: ${res.body}`);
}

function assertGraphqlWeak(body: GraphqlBody, reason: string, what: string) {
  assert.deepEqual(codesOf(body), ['WEAK_PASSWORD'], `${what}: ${JSON.stringify(body)}`);
  assert.deepEqual(
    body.errors?.[0]?.extensions.details,
    { reason },
    `${what}: ${JSON.stringify(body)}`,
  );
}

describe('password policy at every door', { skip: engine.skip }, () => {
  let app: StartedApp;
  let admin: TestUser;

  before(async () => {
    app = await startApp(engine);
    admin = await createUserAndLogin(app.server, app.services, 'admin');
  });
  after(() => app.close());

  const inject = (options: {
    method: 'POST' | 'PATCH' | 'PUT';
    url: string;
    payload: object;
    token?: string;
  }) =>
    app.server.inject({
      method: options.method,
      url: options.url,
      payload: options.payload,
      headers: options.token ? bearer(options.token) : {},
      remoteAddress: randomAddress(),
    });
  const register = (payload: object) =>
    inject({ method: 'POST', url: '/api/v1/auth/register', payload });
  const loginStatus = async (email: string, password: string) =>
    (await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } }))
      .statusCode;
  const userExists = async (email: string) =>
    (await app.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email.toLowerCase())
      .executeTakeFirst()) !== undefined;

  /** A user with a known name, signed in. */
  async function person(): Promise<TestUser & { name: string }> {
    const email = newEmail();
    const res = await register({ name: NAME, email, password: STRONG });
    assert.equal(res.statusCode, 201, res.body);
    const id = res.json<{ data: { id: string } }>().data.id;
    const signIn = await inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: STRONG },
    });
    assert.equal(signIn.statusCode, 200, signIn.body);
    const tokens = signIn.json<{ data: { accessToken: string; refreshToken: string } }>().data;
    return { id, email, password: STRONG, name: NAME, ...tokens };
  }

  it('when someone registers with a weak password, then 400 WEAK_PASSWORD with its reason and no account', async () => {
    for (const shout of [false, true]) {
      const email = newEmail();
      const sent = shout ? email.toUpperCase() : email;
      for (const [password, reason] of weakFor(email)) {
        const res = await register({ name: NAME, email: sent, password });
        assertWeak(res, reason, `register ${password}`);
      }
      assert.equal(await userExists(email), false);
    }
  });

  it('when someone registers with a strong password, then the account is created and signs in', async () => {
    const email = newEmail();
    const res = await register({ name: NAME, email, password: STRONG });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(await loginStatus(email, STRONG), 200);
  });

  it('when an admin creates a user with a weak password, then 400 WEAK_PASSWORD and no user', async () => {
    const email = newEmail();
    for (const [password, reason] of weakFor(email)) {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/users',
        token: admin.accessToken,
        payload: { name: NAME, email, password },
      });
      assertWeak(res, reason, `admin create ${password}`);
    }
    assert.equal(await userExists(email), false);
    const ok = await inject({
      method: 'POST',
      url: '/api/v1/users',
      token: admin.accessToken,
      payload: { name: NAME, email, password: STRONG },
    });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(await loginStatus(email, STRONG), 200);
  });

  it('when a user changes their own password to a weak one, then 400 WEAK_PASSWORD and the old one still works', async () => {
    const user = await person();
    for (const [password, reason] of weakFor(user.email)) {
      const res = await inject({
        method: 'PATCH',
        url: `/api/v1/users/${user.id}`,
        token: user.accessToken,
        payload: { password, currentPassword: user.password },
      });
      assertWeak(res, reason, `change to ${password}`);
      assert.notEqual(await loginStatus(user.email, password), 200);
    }
    assert.equal(await loginStatus(user.email, user.password), 200);
    // The session was not ended by a change that didn't happen.
    const me = await app.server.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: bearer(user.accessToken),
    });
    assert.equal(me.statusCode, 200, me.body);
  });

  it('when a password is changed together with the email, then the new email is what it is checked against', async () => {
    const user = await person();
    const email = newEmail();
    const res = await inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      token: user.accessToken,
      payload: { email, password: `x${email}`, currentPassword: user.password },
    });
    assertWeak(res, 'email', 'email and password together');
    assert.equal(await loginStatus(user.email, user.password), 200);
  });

  it("when an admin sets another user's password to a weak one, then 400 WEAK_PASSWORD", async () => {
    const user = await person();
    for (const [password, reason] of weakFor(user.email)) {
      const res = await inject({
        method: 'PATCH',
        url: `/api/v1/users/${user.id}`,
        token: admin.accessToken,
        payload: { password },
      });
      assertWeak(res, reason, `admin sets ${password}`);
    }
    assert.equal(await loginStatus(user.email, user.password), 200);
  });

  it('when a user changes their password to a strong one, then it works and the old one does not', async () => {
    const user = await person();
    const next = 'amber kettle lantern 7';
    const res = await inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      token: user.accessToken,
      payload: { password: next, currentPassword: user.password },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(await loginStatus(user.email, next), 200);
    assert.equal(await loginStatus(user.email, user.password), 401);
  });

  it('when GraphQL createUser gets a weak password, then WEAK_PASSWORD with its reason and no user', async () => {
    const email = newEmail();
    const mutation = `mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }`;
    for (const [password, reason] of weakFor(email)) {
      const res = await graphql(app.server, mutation, {
        token: admin.accessToken,
        variables: { input: { name: NAME, email, password } },
      });
      assert.notEqual(res.statusCode, 500);
      assertGraphqlWeak(res.body, reason, `createUser ${password}`);
    }
    assert.equal(await userExists(email), false);
    const ok = await graphql<{ createUser: { id: string } }>(app.server, mutation, {
      token: admin.accessToken,
      variables: { input: { name: NAME, email, password: STRONG } },
    });
    assert.deepEqual(ok.body.errors, undefined);
    assert.ok(ok.body.data?.createUser.id);
    assert.equal(await loginStatus(email, STRONG), 200);
  });

  it('when GraphQL updateUser sets a weak password, then WEAK_PASSWORD, for oneself and for an admin', async () => {
    const user = await person();
    const mutation = `mutation ($id: ID!, $input: UpdateUserInput!) {
      updateUser(id: $id, input: $input) { id }
    }`;
    for (const [password, reason] of weakFor(user.email)) {
      const self = await graphql(app.server, mutation, {
        token: user.accessToken,
        variables: { id: user.id, input: { password, currentPassword: user.password } },
      });
      assertGraphqlWeak(self.body, reason, `self updateUser ${password}`);
      const byAdmin = await graphql(app.server, mutation, {
        token: admin.accessToken,
        variables: { id: user.id, input: { password } },
      });
      assertGraphqlWeak(byAdmin.body, reason, `admin updateUser ${password}`);
    }
    assert.equal(await loginStatus(user.email, user.password), 200);
    const next = 'quiet harbour pebble 61';
    const ok = await graphql(app.server, mutation, {
      token: user.accessToken,
      variables: { id: user.id, input: { password: next, currentPassword: user.password } },
    });
    assert.deepEqual(ok.body.errors, undefined);
    assert.equal(await loginStatus(user.email, next), 200);
  });
});
