import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { generateSync } from 'otplib';
import { startApp, type StartedApp } from '../../support/app.js';
import {
  AccountTokensRepository,
  type AccountTokenPurpose,
} from '../../../src/modules/users/account-tokens.repository.js';
import { bearer, createUserAndLogin, login, type TestUser } from '../../support/auth.js';
import { engines } from '../../support/databases.js';
import { watchCompiledQueries } from '../../support/compiled-queries.js';
import { codesOf, graphql } from '../../support/graphql.js';

const watcher = watchCompiledQueries();

/**
 * The same cases through both doors give the same outcome: REST's status is the expected one,
 * and GraphQL either succeeds where REST succeeds or fails with REST's error code.
 * guest: no token; user: a plain user acting on someone else (`other`) or on themselves;
 * admin: an admin.
 */
type Who = 'guest' | 'user' | 'admin';

interface Fixture {
  app: StartedApp;
  tokens: Record<Who, string | undefined>;
  ids: Record<Who, string | undefined>;
  other: TestUser;
  otherWalletId: string;
  otherPostId: string;
}

interface Doors {
  rest: InjectOptions;
  graphql: { query: string; variables?: Record<string, unknown> };
}

interface Case {
  name: string;
  expect: Record<Who, number>;
  /** Called once per door, so a case that creates or deletes gets a fresh target each time. */
  build(f: Fixture, who: Who): Doors | Promise<Doors>;
}

/** The session (`sid`) an access token belongs to. */
function sidOf(accessToken: string): string {
  const payload = Buffer.from(accessToken.split('.')[1]!, 'base64url').toString();
  return (JSON.parse(payload) as { sid: string }).sid;
}

const unique = () => `p-${randomUUID()}@example.com`;
/**
 * A live token for a newly registered (unverified) user, issued as the account emails' jobs
 * issue them; for change-email, to `newEmail` (default: a free address).
 */
async function linkFor(f: Fixture, purpose: AccountTokenPurpose, newEmail = unique()) {
  const user = await f.app.services.auth.register(
    { userId: null, role: 'guest' },
    { name: 'Linked', email: unique(), password: 'linked user passphrase' },
  );
  const email = purpose === 'change-email' ? newEmail : user.email;
  const token = await new AccountTokensRepository(f.app.database.db).issue(
    purpose,
    user.id,
    email,
    60_000,
  );
  assert.ok(token);
  return token;
}

/** Whoever is asking, or `other` for a guest, who has no id of their own. */
const selfOf = (f: Fixture, who: Who) => f.ids[who] ?? f.other.id;

const CASES: Case[] = [
  {
    name: 'read another user',
    expect: { guest: 401, user: 404, admin: 200 },
    build: (f) => ({
      rest: { method: 'GET', url: `/api/v1/users/${f.other.id}` },
      graphql: { query: `{ user(id: "${f.other.id}") { id email } }` },
    }),
  },
  {
    name: 'read yourself',
    expect: { guest: 401, user: 200, admin: 200 },
    build: (f, who) => ({
      rest: { method: 'GET', url: `/api/v1/users/${selfOf(f, who)}` },
      graphql: { query: `{ user(id: "${selfOf(f, who)}") { id email } }` },
    }),
  },
  {
    name: 'read a malformed id',
    expect: { guest: 400, user: 400, admin: 400 },
    build: () => ({
      rest: { method: 'GET', url: '/api/v1/users/not-a-uuid' },
      graphql: { query: '{ user(id: "not-a-uuid") { id } }' },
    }),
  },
  {
    name: 'list users',
    expect: { guest: 401, user: 403, admin: 200 },
    build: () => ({
      rest: { method: 'GET', url: '/api/v1/users?pageSize=5' },
      graphql: { query: '{ users(limit: 5) { id } }' },
    }),
  },
  {
    name: 'read me',
    expect: { guest: 401, user: 200, admin: 200 },
    build: () => ({
      rest: { method: 'GET', url: '/api/v1/users/me' },
      graphql: { query: '{ me { id email } }' },
    }),
  },
  {
    name: 'create a user',
    expect: { guest: 401, user: 403, admin: 201 },
    build: () => {
      const input = { name: 'New', email: unique(), password: 'long enough pw' };
      return {
        rest: { method: 'POST', url: '/api/v1/users', payload: input },
        graphql: {
          query: 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
          variables: { input: { ...input, email: unique() } },
        },
      };
    },
  },
  {
    name: 'create a user with a malformed email',
    expect: { guest: 400, user: 400, admin: 400 },
    build: () => {
      const input = { name: 'New', email: 'not an email' };
      return {
        rest: { method: 'POST', url: '/api/v1/users', payload: input },
        graphql: {
          query: 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
          variables: { input },
        },
      };
    },
  },
  {
    name: 'rename another user',
    expect: { guest: 401, user: 404, admin: 200 },
    build: (f) => ({
      rest: { method: 'PATCH', url: `/api/v1/users/${f.other.id}`, payload: { name: 'Renamed' } },
      graphql: {
        query: `mutation { updateUser(id: "${f.other.id}", input: { name: "Renamed" }) { id } }`,
      },
    }),
  },
  {
    name: 'make yourself an admin',
    expect: { guest: 401, user: 403, admin: 200 },
    build: (f, who) => ({
      rest: { method: 'PATCH', url: `/api/v1/users/${selfOf(f, who)}`, payload: { role: 'admin' } },
      graphql: {
        query: `mutation { updateUser(id: "${selfOf(f, who)}", input: { role: admin }) { id } }`,
      },
    }),
  },
  {
    name: "read another user's orders",
    expect: { guest: 401, user: 404, admin: 200 },
    build: (f) => ({
      rest: { method: 'GET', url: `/api/v1/users/${f.other.id}/orders` },
      graphql: { query: `{ user(id: "${f.other.id}") { orders { id } } }` },
    }),
  },
  {
    name: 'read your own accounts',
    expect: { guest: 401, user: 200, admin: 200 },
    build: (f, who) => ({
      rest: { method: 'GET', url: `/api/v1/users/${selfOf(f, who)}/accounts` },
      graphql: { query: '{ me { accounts { id balance } } }' },
    }),
  },
  {
    name: "read another user's wallet",
    expect: { guest: 401, user: 404, admin: 200 },
    build: (f) => ({
      rest: { method: 'GET', url: `/api/v1/accounts/${f.otherWalletId}` },
      graphql: { query: `{ account(id: "${f.otherWalletId}") { id balance held available } }` },
    }),
  },
  {
    name: 'read a post',
    expect: { guest: 200, user: 200, admin: 200 },
    build: (f) => ({
      rest: { method: 'GET', url: `/api/v1/posts/${f.otherPostId}` },
      graphql: { query: `{ post(id: "${f.otherPostId}") { id title author { name } } }` },
    }),
  },
  {
    name: 'search posts',
    expect: { guest: 200, user: 200, admin: 200 },
    build: () => ({
      rest: { method: 'GET', url: `/api/v1/posts?q=${encodeURIComponent('"parity" -nothing')}` },
      graphql: { query: '{ posts(search: "\\"parity\\" -nothing") { id } }' },
    }),
  },
  {
    name: 'write a post',
    expect: { guest: 401, user: 201, admin: 201 },
    build: () => ({
      rest: { method: 'POST', url: '/api/v1/posts', payload: { title: 'T', content: 'C' } },
      graphql: { query: 'mutation { createPost(input: { title: "T", content: "C" }) { id } }' },
    }),
  },
  {
    name: "edit another user's post",
    expect: { guest: 401, user: 403, admin: 200 },
    build: (f) => ({
      rest: {
        method: 'PATCH',
        url: `/api/v1/posts/${f.otherPostId}`,
        payload: { title: 'Edited' },
      },
      graphql: {
        query: `mutation { updatePost(id: "${f.otherPostId}", input: { title: "Edited" }) { id } }`,
      },
    }),
  },
  {
    name: 'delete your own post',
    expect: { guest: 401, user: 204, admin: 204 },
    build: async (f, who) => {
      const authorId = selfOf(f, who);
      const post = await f.app.services.posts.createPost(
        { userId: authorId, role: 'user' },
        { title: 'Doomed', content: 'Soon gone.' },
      );
      return {
        rest: { method: 'DELETE', url: `/api/v1/posts/${post.id}` },
        graphql: { query: `mutation { deletePost(id: "${post.id}") }` },
      };
    },
  },
  {
    name: 'delete a post that does not exist',
    expect: { guest: 401, user: 404, admin: 404 },
    build: () => {
      const id = randomUUID();
      return {
        rest: { method: 'DELETE', url: `/api/v1/posts/${id}` },
        graphql: { query: `mutation { deletePost(id: "${id}") }` },
      };
    },
  },
  {
    name: 'list your own sessions',
    expect: { guest: 401, user: 200, admin: 200 },
    build: (f, who) => ({
      rest: { method: 'GET', url: `/api/v1/users/${selfOf(f, who)}/sessions` },
      graphql: { query: `{ sessions(userId: "${selfOf(f, who)}") { id current } }` },
    }),
  },
  {
    name: "list another user's sessions",
    expect: { guest: 401, user: 404, admin: 200 },
    build: (f) => ({
      rest: { method: 'GET', url: `/api/v1/users/${f.other.id}/sessions` },
      graphql: { query: `{ sessions(userId: "${f.other.id}") { id userAgent } }` },
    }),
  },
  {
    name: "end another user's session",
    expect: { guest: 401, user: 404, admin: 204 },
    build: async (f) => {
      // A session of its own per door: the first door may end it.
      const { accessToken } = await login(f.app.server, f.other.email, f.other.password);
      const sessionId = sidOf(accessToken);
      return {
        rest: { method: 'DELETE', url: `/api/v1/users/${f.other.id}/sessions/${sessionId}` },
        graphql: {
          query: `mutation { endSession(userId: "${f.other.id}", sessionId: "${sessionId}") }`,
        },
      };
    },
  },
  {
    name: 'end a session that is not there',
    expect: { guest: 401, user: 404, admin: 404 },
    build: (f, who) => {
      const sessionId = randomUUID();
      return {
        rest: { method: 'DELETE', url: `/api/v1/users/${selfOf(f, who)}/sessions/${sessionId}` },
        graphql: {
          query: `mutation { endSession(userId: "${selfOf(f, who)}", sessionId: "${sessionId}") }`,
        },
      };
    },
  },
  {
    name: 'log out everywhere but here',
    expect: { guest: 401, user: 200, admin: 200 },
    build: () => ({
      rest: { method: 'POST', url: '/api/v1/auth/logout-all', payload: { keepCurrent: true } },
      graphql: { query: 'mutation { logoutAll(keepCurrent: true) }' },
    }),
  },
  {
    name: "end all of another user's sessions",
    expect: { guest: 401, user: 404, admin: 200 },
    build: (f) => ({
      rest: { method: 'DELETE', url: `/api/v1/users/${f.other.id}/sessions` },
      graphql: { query: `mutation { endAllSessions(userId: "${f.other.id}") }` },
    }),
  },
  {
    name: 'read your own security log',
    expect: { guest: 401, user: 200, admin: 200 },
    build: (f, who) => ({
      rest: { method: 'GET', url: `/api/v1/users/${selfOf(f, who)}/security-events?limit=5` },
      graphql: {
        query: `{ securityEvents(userId: "${selfOf(f, who)}", limit: 5) { items { id type } } }`,
      },
    }),
  },
  {
    name: "read another user's security log",
    expect: { guest: 401, user: 404, admin: 200 },
    build: (f) => ({
      rest: { method: 'GET', url: `/api/v1/users/${f.other.id}/security-events` },
      graphql: { query: `{ securityEvents(userId: "${f.other.id}") { items { id } } }` },
    }),
  },
  {
    name: "read every account's security log",
    expect: { guest: 401, user: 403, admin: 200 },
    build: () => ({
      rest: { method: 'GET', url: '/api/v1/security-events?type=sign-in' },
      graphql: { query: '{ securityEvents(type: "sign-in") { items { id } nextCursor } }' },
    }),
  },
  {
    name: 'read the security log with a cursor that was never issued',
    expect: { guest: 401, user: 400, admin: 400 },
    build: (f, who) => ({
      rest: { method: 'GET', url: `/api/v1/users/${selfOf(f, who)}/security-events?cursor=x` },
      graphql: {
        query: `{ securityEvents(userId: "${selfOf(f, who)}", after: "x") { items { id } } }`,
      },
    }),
  },
  // Two-factor: the signed-in enrolment operations (signing in itself is REST-only).
  {
    name: 'read whether you have two-factor',
    expect: { guest: 401, user: 200, admin: 200 },
    build: () => ({
      rest: { method: 'GET', url: '/api/v1/users/me/two-factor' },
      graphql: { query: '{ me { id twoFactorEnabled } }' },
    }),
  },
  {
    name: 'start two-factor enrolment',
    expect: { guest: 401, user: 201, admin: 201 },
    build: () => ({
      rest: { method: 'POST', url: '/api/v1/users/me/two-factor' },
      graphql: { query: 'mutation { startTwoFactor { secret otpauthUri } }' },
    }),
  },
  {
    name: 'confirm two-factor with a wrong code',
    expect: { guest: 401, user: 403, admin: 403 },
    build: async (f, who) => {
      const code = await wrongCodeFor(f, who);
      return {
        rest: {
          method: 'POST',
          url: `/api/v1/users/${selfOf(f, who)}/two-factor/confirm`,
          payload: { code },
        },
        graphql: { query: `mutation { confirmTwoFactor(code: "${code}") { enabledAt } }` },
      };
    },
  },
  {
    name: "turn off another user's two-factor (they have none)",
    expect: { guest: 401, user: 404, admin: 409 },
    build: (f) => ({
      rest: { method: 'DELETE', url: `/api/v1/users/${f.other.id}/two-factor` },
      graphql: { query: `mutation { disableTwoFactor(userId: "${f.other.id}") }` },
    }),
  },
  // The emailed links: the same service method behind both doors; the token decides the account.
  {
    name: 'verify an email with a fresh link',
    expect: { guest: 200, user: 200, admin: 200 },
    build: async (f) => {
      const token = await linkFor(f, 'verify-email');
      return {
        rest: { method: 'POST', url: '/api/v1/auth/verify-email', payload: { token } },
        graphql: {
          query: 'mutation ($token: String!) { verifyEmail(token: $token) { emailVerified } }',
          variables: { token: await linkFor(f, 'verify-email') },
        },
      };
    },
  },
  {
    name: 'verify an email with a made-up link',
    expect: { guest: 400, user: 400, admin: 400 },
    build: () => ({
      rest: { method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: 'made-up' } },
      graphql: { query: 'mutation { verifyEmail(token: "made-up") { id } }' },
    }),
  },
  {
    name: 'ask for a new verification link when verified',
    expect: { guest: 401, user: 409, admin: 409 },
    build: () => ({
      rest: { method: 'POST', url: '/api/v1/auth/resend-verification' },
      graphql: { query: 'mutation { resendVerification }' },
    }),
  },
  {
    name: 'ask for a password reset',
    expect: { guest: 204, user: 204, admin: 204 },
    build: () => ({
      rest: { method: 'POST', url: '/api/v1/auth/forgot-password', payload: { email: unique() } },
      graphql: { query: `mutation { forgotPassword(email: "${unique()}") }` },
    }),
  },
  {
    name: 'reset a password with a fresh link',
    expect: { guest: 204, user: 204, admin: 204 },
    build: async (f) => {
      const password = 'a brand new passphrase';
      return {
        rest: {
          method: 'POST',
          url: '/api/v1/auth/reset-password',
          payload: { token: await linkFor(f, 'reset-password'), password },
        },
        graphql: {
          query:
            'mutation ($token: String!, $password: String!) { resetPassword(token: $token, password: $password) }',
          variables: { token: await linkFor(f, 'reset-password'), password },
        },
      };
    },
  },
  {
    name: 'reset a password to a common one',
    expect: { guest: 400, user: 400, admin: 400 },
    build: async (f) => {
      const token = await linkFor(f, 'reset-password');
      return {
        rest: {
          method: 'POST',
          url: '/api/v1/auth/reset-password',
          payload: { token, password: 'password123' },
        },
        graphql: {
          query: `mutation { resetPassword(token: "${token}", password: "password123") }`,
        },
      };
    },
  },
  {
    name: 'confirm an email change with a fresh link',
    expect: { guest: 200, user: 200, admin: 200 },
    build: async (f) => ({
      rest: {
        method: 'POST',
        url: '/api/v1/auth/confirm-email-change',
        payload: { token: await linkFor(f, 'change-email') },
      },
      graphql: {
        query: 'mutation ($token: String!) { confirmEmailChange(token: $token) { email } }',
        variables: { token: await linkFor(f, 'change-email') },
      },
    }),
  },
  {
    name: 'confirm an email change to an address taken since',
    expect: { guest: 409, user: 409, admin: 409 },
    build: async (f) => {
      const token = await linkFor(f, 'change-email', f.other.email);
      return {
        rest: { method: 'POST', url: '/api/v1/auth/confirm-email-change', payload: { token } },
        graphql: { query: `mutation { confirmEmailChange(token: "${token}") { id } }` },
      };
    },
  },
];

/** A fresh pending enrolment for the caller, and a code that is not its secret's near now. */
async function wrongCodeFor(f: Fixture, who: Who): Promise<string> {
  const id = f.ids[who];
  if (!id) return '000000';
  const actor = { userId: id, role: who === 'admin' ? ('admin' as const) : ('user' as const) };
  const { secret } = await f.app.services.twoFactor.start(actor, id);
  const now = Math.floor(Date.now() / 1000);
  const valid = new Set([-60, -30, 0, 30, 60].map((d) => generateSync({ secret, epoch: now + d })));
  let code = 0;
  while (valid.has(String(code).padStart(6, '0'))) code++;
  return String(code).padStart(6, '0');
}

/**
 * Run twice: as graphql-js executes, and compiled by graphql-jit. With GRAPHQL_JIT=1 mercurius
 * compiles a document on its second use; each GraphQL request is then preceded by one that
 * names an operation the document hasn't (refused before anything runs, but the document is
 * cached), so the request that counts is the one that compiles and runs compiled.
 */
for (const jit of ['0', '1'] as const) {
  describe(`permission parity: REST and GraphQL give the same outcome (GRAPHQL_JIT=${jit})`, () => {
    const f = {} as Fixture;
    before(async () => {
      f.app = await startApp(
        engines.find((e) => e.name === 'pglite')!,
        {
          env: { GRAPHQL_JIT: jit },
        },
      );
      const { server, services } = f.app;
      const [user, admin, other] = await Promise.all([
        createUserAndLogin(server, services),
        createUserAndLogin(server, services, 'admin'),
        createUserAndLogin(server, services),
      ]);
      f.other = other;
      f.tokens = { guest: undefined, user: user.accessToken, admin: admin.accessToken };
      f.ids = { guest: undefined, user: user.id, admin: admin.id };
      f.otherWalletId = (await services.accounts.walletOf(other.id))!.id;
      f.otherPostId = (
        await services.posts.createPost(
          { userId: other.id, role: 'user' },
          { title: 'Parity', content: 'A post about parity.' },
        )
      ).id;
    });
    after(() => f.app.close());

    for (const testCase of CASES) {
      for (const who of ['guest', 'user', 'admin'] as const) {
        const status = testCase.expect[who];
        it(`when a ${who} tries to ${testCase.name}, then REST ${status} and GraphQL agree`, async () => {
          const token = f.tokens[who];
          const { rest } = await testCase.build(f, who);
          const res = await f.app.server.inject({
            ...rest,
            headers: token ? bearer(token) : {},
          });
          assert.equal(res.statusCode, status, res.body);
          const { graphql: operation } = await testCase.build(f, who);
          if (jit === '1') {
            const primer = await f.app.server.inject({
              method: 'POST',
              url: '/graphql',
              payload: { query: operation.query, operationName: 'primer' },
              headers: token ? bearer(token) : {},
            });
            assert.equal(primer.json<{ data?: unknown }>().data, undefined, primer.body);
          }
          const answer = await graphql(f.app.server, operation.query, {
            token,
            variables: operation.variables,
          });
          const expected = status < 300 ? [] : [res.json<{ error: { code: string } }>().error.code];
          assert.deepEqual(codesOf(answer.body), expected, JSON.stringify(answer.body));
          // What ran (a data entry) ran compiled; what failed before running could not compile.
          if (jit === '1' && answer.body.data !== undefined) {
            assert.ok(watcher.compiled(operation.query), 'ran compiled');
          }
        });
      }
    }
  });
}
