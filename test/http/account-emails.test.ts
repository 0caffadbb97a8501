import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RedisClient } from '../../src/platform/redis/connect.js';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { hashAccountToken } from '../../src/modules/users/account-tokens.repository.js';
import { linkMailTo, mailTo, decoded } from '../support/account-mail.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, login, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { instrument, type Instrumented } from '../support/instrumented-database.js';
import { deposit, walletOf } from '../support/ledger.js';
import { outboxSettled } from '../support/jobs.js';
import { openRedis, redisSkip } from '../support/redis.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const PUBLIC_WEB_URL = 'https://app.example.test/account';
const PASSWORD = 'registered passphrase';

interface ErrorBody {
  error: { code: string };
}
const codeOf = (body: string) => (JSON.parse(body) as ErrorBody).error.code;

describe(
  'account emails: verification, password reset, email change',
  {
    skip: engine.skip ?? redisSkip,
  },
  () => {
    let app: StartedApp;
    let smtp: TestSmtpServer;
    let redis: RedisClient;
    let database: DatabaseHandle;
    let counted: Instrumented;
    /** A second API process over the same database whose statements are counted. */
    let counting: StartedApp;

    before(async () => {
      smtp = await startSmtpServer();
      redis = openRedis();
      database = await engine.open();
      const env = {
        SMTP_URL: smtp.url,
        PUBLIC_WEB_URL,
        // Each test uses its own addresses; the budgets are tested with their own address.
        ACCOUNT_EMAIL_MAX_REQUESTS: '3',
        ACCOUNT_EMAIL_ACCOUNT_MAX_REQUESTS: '100',
      };
      app = await startApp(engine, { database, redis, env });
      counted = instrument(database);
      counting = await startApp(engine, { database: counted.handle, redis, env });
      // It drains no outbox and prunes nothing: what it counts is its requests' statements alone
      // (the first process sends their emails).
      await counting.jobs.close();
    });
    after(async () => {
      await counting.close();
      await app.close();
      await database.close();
      redis.disconnect();
      await smtp.close();
    });

    // Each request from its own client address, so the per-address budgets count only what a
    // test means them to.
    let addressCount = 0;
    const nextAddress = () =>
      `10.77.${Math.floor(++addressCount / 250)}.${(addressCount % 250) + 1}`;
    const post = (url: string, payload?: object, headers: Record<string, string> = {}) =>
      app.server.inject({
        method: 'POST',
        url: `/api/v1${url}`,
        ...(payload ? { payload } : {}),
        headers,
        remoteAddress: nextAddress(),
      });

    async function register(name = 'Reggie') {
      const email = `acc-${randomUUID()}@example.com`;
      const res = await post('/auth/register', { name, email, password: PASSWORD });
      assert.equal(res.statusCode, 201, res.body);
      const id = res.json<{ data: { id: string; emailVerified: boolean } }>().data;
      assert.equal(id.emailVerified, false);
      const tokens = await login(app.server, email, PASSWORD);
      return { id: id.id, email, password: PASSWORD, ...tokens } satisfies TestUser;
    }

    const welcome = (email: string) => linkMailTo(smtp, email, /^Welcome to Stratum$/);

    async function me(token: string) {
      const res = await app.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: bearer(token),
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ data: { email: string; emailVerified: boolean } }>().data;
    }

    async function refresh(user: TestUser) {
      const res = await post('/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(res.statusCode, 200, res.body);
      const data = res.json<{ data: { accessToken: string; refreshToken: string } }>().data;
      return { ...user, accessToken: data.accessToken, refreshToken: data.refreshToken };
    }

    describe('email verification', () => {
      it('when a user registers, then the welcome email links to the web page with a token that verifies the address once', async () => {
        const user = await register();
        const { href, token, mail } = await welcome(user.email);
        assert.equal(`${href.origin}${href.pathname}`, `${PUBLIC_WEB_URL}/verify-email`);
        assert.match(decoded(mail.raw), /Hello Reggie/);
        // Only its hash is stored.
        const stored = await sql<{ token_hash: string; purpose: string }>`
        select token_hash, purpose from account_tokens where user_id = ${user.id}`.execute(
          database.db,
        );
        assert.deepEqual(stored.rows, [
          { token_hash: hashAccountToken(token), purpose: 'verify-email' },
        ]);
        assert.doesNotMatch(JSON.stringify(stored.rows), new RegExp(token));

        const verified = await post('/auth/verify-email', { token });
        assert.equal(verified.statusCode, 200, verified.body);
        assert.equal(verified.headers['cache-control'], 'no-store');
        assert.equal(
          verified.json<{ data: { emailVerified: boolean } }>().data.emailVerified,
          true,
        );
        assert.equal((await me(user.accessToken)).emailVerified, true);

        const again = await post('/auth/verify-email', { token });
        assert.equal(again.statusCode, 400);
        assert.equal(codeOf(again.body), 'INVALID_ACCOUNT_TOKEN');
      });

      it('when the link is fetched with GET (a mail scanner), then nothing is spent and the POST still verifies', async () => {
        const user = await register();
        const { token } = await welcome(user.email);
        for (const url of [
          `/api/v1/auth/verify-email?token=${token}`,
          `/api/v1/auth/verify-email/${token}`,
        ]) {
          const res = await app.server.inject({ method: 'GET', url });
          assert.ok([404, 405].includes(res.statusCode), `${url}: ${res.statusCode}`);
        }
        assert.equal((await post('/auth/verify-email', { token })).statusCode, 200);
      });

      it('when the token has expired, then 400 INVALID_ACCOUNT_TOKEN and the address stays unverified', async () => {
        const user = await register();
        const { token } = await welcome(user.email);
        await sql`update account_tokens set expires_at = now() - interval '1 second'
                 where token_hash = ${hashAccountToken(token)}`.execute(database.db);
        const res = await post('/auth/verify-email', { token });
        assert.equal(res.statusCode, 400);
        assert.equal(codeOf(res.body), 'INVALID_ACCOUNT_TOKEN');
        assert.equal((await me(user.accessToken)).emailVerified, false);
      });

      it('when the same token is sent ten times at once, then exactly one succeeds', async () => {
        const user = await register();
        const { token } = await welcome(user.email);
        const results = await Promise.all(
          Array.from({ length: 10 }, () => post('/auth/verify-email', { token })),
        );
        const statuses = results.map((r) => r.statusCode).sort();
        assert.deepEqual(statuses, [200, ...Array<number>(9).fill(400)]);
      });

      it('when a token of another purpose or a made-up one is sent, then 400 and the real purpose still works', async () => {
        const user = await register();
        const { token } = await welcome(user.email);
        const asReset = await post('/auth/reset-password', {
          token,
          password: 'another fine passphrase',
        });
        assert.equal(asReset.statusCode, 400);
        assert.equal(codeOf(asReset.body), 'INVALID_ACCOUNT_TOKEN');
        const asChange = await post('/auth/confirm-email-change', { token });
        assert.equal(codeOf(asChange.body), 'INVALID_ACCOUNT_TOKEN');
        const madeUp = await post('/auth/verify-email', { token: token.slice(1) + 'A' });
        assert.equal(codeOf(madeUp.body), 'INVALID_ACCOUNT_TOKEN');
        assert.equal((await post('/auth/verify-email', { token })).statusCode, 200);
      });

      it("when another signed-in user sends someone's token, then it verifies that address's account, not the sender's", async () => {
        const owner = await register();
        const other = await register();
        const { token } = await welcome(owner.email);
        const res = await post('/auth/verify-email', { token }, bearer(other.accessToken));
        assert.equal(res.statusCode, 200);
        assert.equal((await me(owner.accessToken)).emailVerified, true);
        assert.equal((await me(other.accessToken)).emailVerified, false);
      });

      it('when an unverified user asks for a new link, then it arrives and works; once verified, 409', async () => {
        const user = await register();
        await welcome(user.email);
        const resent = await post('/auth/resend-verification', undefined, bearer(user.accessToken));
        assert.equal(resent.statusCode, 204, resent.body);
        const { token } = await linkMailTo(smtp, user.email, /^Verify your Stratum email$/);
        assert.equal((await post('/auth/verify-email', { token })).statusCode, 200);
        const { token: first } = await welcome(user.email);
        assert.equal(
          codeOf((await post('/auth/verify-email', { token: first })).body),
          'INVALID_ACCOUNT_TOKEN',
        );
        const late = await post('/auth/resend-verification', undefined, bearer(user.accessToken));
        assert.equal(late.statusCode, 409);
        assert.equal(codeOf(late.body), 'EMAIL_ALREADY_VERIFIED');
        const guest = await post('/auth/resend-verification');
        assert.equal(guest.statusCode, 401);
      });
      it('when a user asks for links past the budget of their address, then 429 with Retry-After', async () => {
        const user = await register();
        const address = nextAddress();
        const answers = [];
        for (let i = 0; i < 4; i++) {
          answers.push(
            await app.server.inject({
              method: 'POST',
              url: '/api/v1/auth/resend-verification',
              headers: bearer(user.accessToken),
              remoteAddress: address,
            }),
          );
        }
        assert.deepEqual(
          answers.map((a) => a.statusCode),
          [204, 204, 204, 429],
        );
        const refused = answers[3];
        assert.ok(refused);
        assert.equal(codeOf(refused.body), 'RATE_LIMITED');
        assert.ok(Number(refused.headers['retry-after']) > 0);
      });
    });

    describe('unverified accounts and money', () => {
      it('when an unverified user transfers or orders, then 403 EMAIL_NOT_VERIFIED; after verifying and refreshing, the same transfer goes through', async () => {
        const admin = await createUserAndLogin(app.server, app.services, 'admin');
        const payer = await register();
        const payee = await createUserAndLogin(app.server, app.services);
        // The admin (verified: made by an operator) may deposit into an unverified wallet.
        const from = await walletOf(app.server, payer);
        await deposit(app.server, admin, from.id, 5_000);
        const to = await walletOf(app.server, payee);
        const transfer = (token: string) =>
          app.server.inject({
            method: 'POST',
            url: '/api/v1/transfers',
            headers: { ...bearer(token), 'idempotency-key': randomUUID() },
            payload: { fromAccountId: from.id, toAccountId: to.id, amount: 100, currency: 'USD' },
          });
        const refused = await transfer(payer.accessToken);
        assert.equal(refused.statusCode, 403, refused.body);
        assert.equal(codeOf(refused.body), 'EMAIL_NOT_VERIFIED');
        const order = await app.server.inject({
          method: 'POST',
          url: `/api/v1/users/${payer.id}/orders`,
          headers: { ...bearer(payer.accessToken), 'idempotency-key': randomUUID() },
          payload: { items: [{ productId: randomUUID(), quantity: 1 }] },
        });
        assert.equal(order.statusCode, 403, order.body);
        assert.equal(codeOf(order.body), 'EMAIL_NOT_VERIFIED');
        // Reading is fine.
        assert.equal((await walletOf(app.server, payer)).balance, 5_000);

        const { token } = await welcome(payer.email);
        assert.equal((await post('/auth/verify-email', { token })).statusCode, 200);
        // The token in hand still says unverified: the claim is read, not the table.
        assert.equal(codeOf((await transfer(payer.accessToken)).body), 'EMAIL_NOT_VERIFIED');
        const refreshed = await refresh(payer);
        const paid = await transfer(refreshed.accessToken);
        assert.equal(paid.statusCode, 201, paid.body);
        assert.equal((await walletOf(app.server, payee)).balance, 100);
      });
    });

    describe('password reset', () => {
      const forgot = (email: string, address?: string, on = app) =>
        on.server.inject({
          method: 'POST',
          url: '/api/v1/auth/forgot-password',
          payload: { email },
          remoteAddress: address ?? nextAddress(),
        });

      it('when the address is known or unknown, then the answer, the statements and the outbox row are the same; each gets its own email', async () => {
        const user = await register();
        const unknown = `nobody-${randomUUID()}@example.com`;
        const runs: { status: number; body: string; headers: string[]; statements: string[] }[] =
          [];
        for (const email of [user.email, unknown, user.email, unknown]) {
          counted.reset();
          const res = await forgot(email, undefined, counting);
          runs.push({
            status: res.statusCode,
            body: res.body,
            headers: Object.keys(res.headers).sort(),
            statements: [...counted.statements],
          });
        }
        const [known, missing] = runs;
        assert.equal(known!.status, 204);
        // One lookup and one outbox row either way (the statements of the request itself).
        assert.deepEqual(
          known!.statements.filter((k) => k !== 'RawNode'),
          ['SelectQueryNode', 'InsertQueryNode'],
        );
        assert.deepEqual(
          { ...missing, headers: missing!.headers },
          { ...known, headers: known!.headers },
        );
        assert.deepEqual(runs[2]!.statements, runs[3]!.statements);
        const knownRows = await outboxSettled(app.database.db, user.email);
        const unknownRows = await outboxSettled(app.database.db, unknown);
        const shape = (rows: { type: string }[]) =>
          rows.filter((r) => r.type === 'email.password-reset').length;
        assert.equal(shape(knownRows), 2);
        assert.equal(shape(unknownRows), 2);
        const { href } = await linkMailTo(smtp, user.email, /^Reset your Stratum password$/);
        assert.equal(`${href.origin}${href.pathname}`, `${PUBLIC_WEB_URL}/reset-password`);
        const none = await mailTo(smtp, unknown, /^Reset your Stratum password$/);
        assert.match(decoded(none.raw), /No Stratum account uses this address/);
        assert.doesNotMatch(decoded(none.raw), /token=/);
      });

      it('when the link is used, then the password changes, every session ends, other reset links die, and the link works once', async () => {
        const user = await register();
        const second = await login(app.server, user.email, PASSWORD);
        assert.equal((await forgot(user.email)).statusCode, 204);
        assert.equal((await forgot(user.email)).statusCode, 204);
        const subject = /^Reset your Stratum password$/;
        const { token: first } = await linkMailTo(smtp, user.email, subject, 0);
        const { token } = await linkMailTo(smtp, user.email, subject, 1);

        const weak = await post('/auth/reset-password', { token, password: 'password123' });
        assert.equal(weak.statusCode, 400);
        assert.equal(codeOf(weak.body), 'WEAK_PASSWORD');

        const next = 'a fresh reset passphrase';
        const reset = await post('/auth/reset-password', { token, password: next });
        assert.equal(reset.statusCode, 204, reset.body);

        for (const session of [user, second]) {
          const old = await app.server.inject({
            method: 'GET',
            url: '/api/v1/users/me',
            headers: bearer(session.accessToken),
          });
          assert.equal(old.statusCode, 401, 'access tokens of every session are refused');
          const refreshed = await post('/auth/refresh', { refreshToken: session.refreshToken });
          assert.equal(refreshed.statusCode, 401, 'refresh tokens of every session are refused');
        }
        const oldPassword = await post('/auth/login', { email: user.email, password: PASSWORD });
        assert.equal(oldPassword.statusCode, 401);
        const signedIn = await login(app.server, user.email, next);
        // The reset went through the mailbox: the address counts as verified.
        assert.equal((await me(signedIn.accessToken)).emailVerified, true);

        for (const used of [token, first]) {
          const again = await post('/auth/reset-password', {
            token: used,
            password: 'yet another passphrase',
          });
          assert.equal(codeOf(again.body), 'INVALID_ACCOUNT_TOKEN');
        }
      });

      it('when the same reset link is used five times at once, then exactly one sets its password', async () => {
        const user = await register();
        await forgot(user.email);
        const { token } = await linkMailTo(smtp, user.email, /^Reset your Stratum password$/);
        const passwords = Array.from({ length: 5 }, (_, i) => `concurrent reset passphrase ${i}`);
        const results = await Promise.all(
          passwords.map((password) => post('/auth/reset-password', { token, password })),
        );
        assert.deepEqual(results.map((r) => r.statusCode).sort(), [204, 400, 400, 400, 400]);
        const winner = passwords[results.findIndex((r) => r.statusCode === 204)]!;
        const statuses = await Promise.all(
          passwords.map(
            async (password) =>
              (await post('/auth/login', { email: user.email, password })).statusCode,
          ),
        );
        assert.deepEqual(
          statuses,
          passwords.map((p) => (p === winner ? 200 : 401)),
        );
      });

      it('when an address asks past its budget, then 429 whether or not an account uses it, and nothing more is written', async () => {
        const user = await register();
        const unknown = `nobody-${randomUUID()}@example.com`;
        for (const email of [user.email, unknown]) {
          const address = nextAddress();
          const statuses: number[] = [];
          for (let i = 0; i < 4; i++) statuses.push((await forgot(email, address)).statusCode);
          assert.deepEqual(statuses, [204, 204, 204, 429], email);
          const rows = await outboxSettled(app.database.db, email);
          assert.equal(rows.filter((r) => r.type === 'email.password-reset').length, 3);
        }
      });
    });

    describe('email change', () => {
      const patch = (user: TestUser, payload: object) =>
        app.server.inject({
          method: 'PATCH',
          url: '/api/v1/users/me',
          headers: bearer(user.accessToken),
          payload,
          remoteAddress: nextAddress(),
        });

      it('when a user changes their email, then it waits for the new address to confirm; the old address is told; the link moves it once, verified', async () => {
        const user = await register();
        const newEmail = `new-${randomUUID()}@example.com`;
        const res = await patch(user, { email: newEmail, currentPassword: PASSWORD });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json<{ data: { email: string } }>().data.email, user.email);
        const notice = await mailTo(smtp, user.email, /^Your Stratum email is about to change$/);
        assert.match(decoded(notice.raw), new RegExp(newEmail));
        assert.doesNotMatch(decoded(notice.raw), /token=/);
        const { token, href } = await linkMailTo(
          smtp,
          newEmail,
          /^Confirm your new Stratum email$/,
        );
        assert.equal(`${href.origin}${href.pathname}`, `${PUBLIC_WEB_URL}/confirm-email-change`);
        assert.equal((await me(user.accessToken)).email, user.email);

        const confirmed = await post('/auth/confirm-email-change', { token });
        assert.equal(confirmed.statusCode, 200, confirmed.body);
        const data = confirmed.json<{ data: { email: string; emailVerified: boolean } }>().data;
        assert.deepEqual(data, { ...data, email: newEmail, emailVerified: true });
        assert.equal(
          (await post('/auth/login', { email: newEmail, password: PASSWORD })).statusCode,
          200,
        );
        assert.equal(
          (await post('/auth/login', { email: user.email, password: PASSWORD })).statusCode,
          401,
        );
        const again = await post('/auth/confirm-email-change', { token });
        assert.equal(codeOf(again.body), 'INVALID_ACCOUNT_TOKEN');
        // The verification link sent to the old address verifies nothing any more.
        const { token: oldLink } = await welcome(user.email);
        assert.equal(
          codeOf((await post('/auth/verify-email', { token: oldLink })).body),
          'INVALID_ACCOUNT_TOKEN',
        );
      });

      it('when another account takes the new address before the confirmation, then 409 EMAIL_TAKEN and nothing moves', async () => {
        const user = await register();
        const newEmail = `race-${randomUUID()}@example.com`;
        assert.equal(
          (await patch(user, { email: newEmail, currentPassword: PASSWORD })).statusCode,
          200,
        );
        const { token } = await linkMailTo(smtp, newEmail, /^Confirm your new Stratum email$/);
        const squatter = await post('/auth/register', {
          name: 'Sq',
          email: newEmail,
          password: PASSWORD,
        });
        assert.equal(squatter.statusCode, 201);
        const res = await post('/auth/confirm-email-change', { token });
        assert.equal(res.statusCode, 409);
        assert.equal(codeOf(res.body), 'EMAIL_TAKEN');
        assert.equal((await me(user.accessToken)).email, user.email);
      });

      it('when the confirmation link is used five times at once, then exactly one moves the account', async () => {
        const user = await register();
        const newEmail = `twice-${randomUUID()}@example.com`;
        assert.equal(
          (await patch(user, { email: newEmail, currentPassword: PASSWORD })).statusCode,
          200,
        );
        const { token } = await linkMailTo(smtp, newEmail, /^Confirm your new Stratum email$/);
        const results = await Promise.all(
          Array.from({ length: 5 }, () => post('/auth/confirm-email-change', { token })),
        );
        assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 400, 400, 400, 400]);
        assert.equal((await me(user.accessToken)).email, newEmail);
      });

      it('when the new address is taken already, then 409 at once and nothing is mailed to it', async () => {
        const user = await register();
        const holder = await register();
        const res = await patch(user, { email: holder.email, currentPassword: PASSWORD });
        assert.equal(res.statusCode, 409);
        assert.equal(codeOf(res.body), 'EMAIL_TAKEN');
      });

      it("when an admin changes another user's email, then it changes at once and counts as verified", async () => {
        const admin = await createUserAndLogin(app.server, app.services, 'admin');
        const user = await register();
        const newEmail = `by-admin-${randomUUID()}@example.com`;
        const res = await app.server.inject({
          method: 'PATCH',
          url: `/api/v1/users/${user.id}`,
          headers: bearer(admin.accessToken),
          payload: { email: newEmail },
        });
        assert.equal(res.statusCode, 200, res.body);
        const data = res.json<{ data: { email: string; emailVerified: boolean } }>().data;
        assert.deepEqual([data.email, data.emailVerified], [newEmail, true]);
      });
    });

    describe('pruning', () => {
      it('when tokens are spent or expired, then the retention rule deletes them and keeps live ones', async () => {
        const user = await register();
        const { token } = await welcome(user.email);
        await post('/auth/resend-verification', undefined, bearer(user.accessToken));
        await linkMailTo(smtp, user.email, /^Verify your Stratum email$/);
        await sql`update account_tokens set expires_at = now() - interval '1 second'
                 where token_hash <> ${hashAccountToken(token)} and user_id = ${user.id}`.execute(
          database.db,
        );
        const { retentionRules } = await import('../../src/composition/services.js');
        const { loadConfig } = await import('../../src/config.js');
        const rule = retentionRules(loadConfig({}), database.db).find(
          (r) => r.table === 'account_tokens',
        );
        assert.ok(rule);
        while ((await rule.pruneBatch(100)) > 0);
        const left = await sql<{ token_hash: string }>`
        select token_hash from account_tokens where user_id = ${user.id}`.execute(database.db);
        assert.deepEqual(left.rows, [{ token_hash: hashAccountToken(token) }]);
      });
    });
  },
);
