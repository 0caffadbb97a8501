import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { AccountTokensRepository } from '../../src/modules/users/account-tokens.repository.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, login, type TestUser } from '../support/auth.js';
import { openRedis } from '../support/redis.js';
import { cacheSetups } from '../support/setups.js';

/**
 * Every existing flow that touches an account's security writes its record, read back through
 * GET /users/me/security-events (or the admins' list), and the log stays a verifiable chain.
 */

interface Event {
  id: string;
  userId: string | null;
  actorId: string | null;
  type: string;
  outcome: string;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  seq: number;
  createdAt: string;
}

interface EventPage {
  data: Event[];
  meta: { limit: number };
  links: { self: string; next: string | null };
}

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'another long passphrase';

for (const setup of cacheSetups) {
  describe(`security log over HTTP on ${setup.name}`, { skip: setup.skip }, () => {
    let app: StartedApp;
    let admin: TestUser;
    const redis = setup.redis && !setup.skip ? openRedis() : undefined;
    before(async () => {
      app = await startApp(setup.engine, {
        redis,
        env: { LOGIN_MAX_FAILURES: '3', TRUST_PROXY: 'true', JWT_REFRESH_REUSE_GRACE: '0s' },
      });
      admin = await createUserAndLogin(app.server, app.services, 'admin');
    });
    after(async () => {
      await app.close();
      redis?.disconnect();
    });

    async function events(token: string, url = '/api/v1/users/me/security-events') {
      const res = await app.server.inject({ method: 'GET', url, headers: bearer(token) });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      return res.json<EventPage>();
    }

    const adminEvents = (query: string) =>
      events(admin.accessToken, `/api/v1/security-events?${query}`).then((p) => p.data);

    const loginAs = (email: string, password: string, address = '192.0.2.10') =>
      app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password },
        remoteAddress: address,
        headers: { 'user-agent': 'security-log-test/1.0' },
      });

    it('when a user signs in, then a sign-in event with method password, address, user agent and request id is theirs to read', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const res = await loginAs(user.email, user.password);
      assert.equal(res.statusCode, 200, res.body);
      const { accessToken } = res.json<{ data: { accessToken: string } }>().data;
      const [latest] = (await events(accessToken)).data;
      assert.equal(latest?.type, 'sign-in');
      assert.equal(latest.outcome, 'success');
      assert.equal(latest.userId, user.id);
      assert.equal(latest.actorId, user.id);
      assert.equal(latest.details.method, 'password');
      assert.equal(typeof latest.details.sessionId, 'string');
      assert.equal(latest.ip, '192.0.2.10');
      assert.equal(latest.userAgent, 'security-log-test/1.0');
      assert.equal(latest.requestId, res.json<{ meta: { requestId: string } }>().meta.requestId);
    });

    it('when the account was created by an admin, then account-created names the admin as actor', async () => {
      const res = await app.server.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: bearer(admin.accessToken),
        payload: { name: 'Made', email: `m-${randomUUID()}@example.com`, password: PASSWORD },
      });
      assert.equal(res.statusCode, 201, res.body);
      const id = res.json<{ data: { id: string } }>().data.id;
      const [created] = await adminEvents(`userId=${id}&type=account-created`);
      assert.equal(created?.actorId, admin.id);
      assert.equal(created.details.via, 'admin');
    });

    it('when someone registers, then account-created is recorded with the account as its own actor', async () => {
      const email = `r-${randomUUID()}@example.com`;
      const res = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { name: 'Reg', email, password: PASSWORD },
      });
      assert.equal(res.statusCode, 201, res.body);
      const { accessToken } = await login(app.server, email, PASSWORD);
      const types = (await events(accessToken)).data.map((e) => e.type);
      assert.deepEqual(types, ['sign-in', 'email-verification-sent', 'account-created']);
      const [created] = (
        await events(accessToken, '/api/v1/users/me/security-events?type=account-created')
      ).data;
      assert.equal(created?.details.via, 'registration');
    });

    it('when a wrong password is given, then sign-in-failed goes to the account, with no actor', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const res = await loginAs(user.email, 'not the password at all');
      assert.equal(res.statusCode, 401);
      const [failed] = (await events(user.accessToken)).data;
      assert.equal(failed?.type, 'sign-in-failed');
      assert.equal(failed.outcome, 'failure');
      assert.equal(failed.actorId, null);
      assert.equal(failed.details.reason, 'wrong-password');
    });

    it('when an unknown email is tried, then sign-in-failed has no account and the address only as a hash', async () => {
      const email = `nobody-${randomUUID()}@example.com`;
      const res = await loginAs(email, 'whatever password');
      assert.equal(res.statusCode, 401);
      const requestId = res.json<{ meta: { requestId: string } }>().meta.requestId;
      const found = (await adminEvents('type=sign-in-failed&limit=100')).find(
        (e) => e.requestId === requestId,
      );
      assert.ok(found, 'the failed attempt is in the admins list');
      assert.equal(found.userId, null);
      assert.equal(found.details.reason, 'unknown-email');
      assert.match(String(found.details.emailSha256), /^[0-9a-f]{64}$/);
      assert.ok(!JSON.stringify(found).includes(email));
      const unmatched = await adminEvents(
        'userId=00000000-0000-0000-0000-000000000000&type=sign-in-failed&limit=100',
      );
      assert.ok(unmatched.some((e) => e.id === found.id));
      assert.ok(unmatched.every((e) => e.userId === null));
    });

    it('when sign-in is throttled, then sign-in-throttled goes to the account', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await loginAs(user.email, 'wrong password again', '192.0.2.99')).statusCode);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      const [throttled] = (
        await events(user.accessToken, '/api/v1/users/me/security-events?type=sign-in-throttled')
      ).data;
      assert.equal(throttled?.outcome, 'failure');
      assert.equal(throttled.ip, '192.0.2.99');
    });

    it('when a spent refresh token comes back, then refresh-token-reused is recorded', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const refresh = (refreshToken: string) =>
        app.server.inject({
          method: 'POST',
          url: '/api/v1/auth/refresh',
          payload: { refreshToken },
        });
      assert.equal((await refresh(user.refreshToken)).statusCode, 200);
      const reused = await refresh(user.refreshToken);
      assert.equal(reused.statusCode, 401);
      const fresh = await login(app.server, user.email, user.password);
      const [event] = (
        await events(
          fresh.accessToken,
          '/api/v1/users/me/security-events?type=refresh-token-reused',
        )
      ).data;
      assert.equal(event?.outcome, 'failure');
      assert.equal(typeof event.details.sessionId, 'string');
    });

    it('when a user logs out, then session-ended is recorded', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const out = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(user.accessToken),
      });
      assert.equal(out.statusCode, 204);
      const fresh = await login(app.server, user.email, user.password);
      const [ended] = (
        await events(fresh.accessToken, '/api/v1/users/me/security-events?type=session-ended')
      ).data;
      assert.equal(ended?.actorId, user.id);
      assert.equal(ended.details.how, 'logout');
    });

    it('when a user changes their password and asks for a new email, then both are recorded', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const email = `new-${randomUUID()}@example.com`;
      const res = await app.server.inject({
        method: 'PATCH',
        url: '/api/v1/users/me',
        headers: bearer(user.accessToken),
        payload: { email, password: NEW_PASSWORD, currentPassword: user.password },
      });
      assert.equal(res.statusCode, 200, res.body);
      // The address waits for the new one's confirmation; the password is changed at once.
      const fresh = await login(app.server, user.email, NEW_PASSWORD);
      const types = new Set((await events(fresh.accessToken)).data.map((e) => e.type));
      // The password change also ends every session (session-ended, one per session).
      for (const type of ['email-change-requested', 'password-changed', 'session-ended']) {
        assert.ok(types.has(type), `${type} in ${[...types].join(', ')}`);
      }
    });

    it('when an admin changes an email, then email-changed is recorded with from, to and the admin', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const email = `moved-${randomUUID()}@example.com`;
      const res = await app.server.inject({
        method: 'PATCH',
        url: `/api/v1/users/${user.id}`,
        headers: bearer(admin.accessToken),
        payload: { email },
      });
      assert.equal(res.statusCode, 200, res.body);
      const [changed] = await adminEvents(`userId=${user.id}&type=email-changed`);
      assert.deepEqual(changed?.details, { from: user.email, to: email });
      assert.equal(changed.actorId, admin.id);
    });

    it('when an admin changes role and status, then each is recorded with old and new and the admin as actor', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const res = await app.server.inject({
        method: 'PATCH',
        url: `/api/v1/users/${user.id}`,
        headers: bearer(admin.accessToken),
        payload: { role: 'admin', status: 'suspended' },
      });
      assert.equal(res.statusCode, 200, res.body);
      const [role] = await adminEvents(`userId=${user.id}&type=role-changed`);
      assert.deepEqual(role?.details, { from: 'user', to: 'admin' });
      assert.equal(role.actorId, admin.id);
      const [status] = await adminEvents(`userId=${user.id}&type=status-changed`);
      assert.deepEqual(status?.details, { from: 'active', to: 'suspended' });
      const refused = await loginAs(user.email, user.password);
      assert.equal(refused.statusCode, 403);
      const [failed] = await adminEvents(`userId=${user.id}&type=sign-in-failed`);
      assert.equal(failed?.details.reason, 'suspended');
    });

    it('when an admin deletes an account, then account-deleted outlives the account', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const res = await app.server.inject({
        method: 'DELETE',
        url: `/api/v1/users/${user.id}`,
        headers: bearer(admin.accessToken),
      });
      assert.equal(res.statusCode, 204);
      const page = await events(admin.accessToken, `/api/v1/users/${user.id}/security-events`);
      assert.equal(page.data[0]?.type, 'account-deleted');
      assert.equal(page.data[0].actorId, admin.id);
      assert.ok(page.data.some((e) => e.type === 'account-created'));
    });

    it('when an admin signs in to the admin pages, then the sign-in names the console', async () => {
      const res = await app.server.inject({
        method: 'POST',
        url: '/admin/login',
        headers: {
          host: 'admin.test',
          origin: 'https://admin.test',
          'x-forwarded-proto': 'https',
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: new URLSearchParams({ email: admin.email, password: admin.password }).toString(),
      });
      assert.equal(res.statusCode, 303, res.body);
      const [signIn] = await adminEvents(`userId=${admin.id}&type=sign-in`);
      assert.equal(signIn?.details.console, 'manage:queues');
    });

    it('when the list is longer than a page, then links.next walks it newest first without repeats', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      for (let i = 0; i < 4; i++) await login(app.server, user.email, user.password);
      const seen: Event[] = [];
      let url: string | null = '/api/v1/users/me/security-events?limit=2';
      while (url) {
        const page: EventPage = await events(user.accessToken, url);
        assert.ok(page.data.length <= 2);
        seen.push(...page.data);
        url = page.links.next;
      }
      assert.equal(seen.length, 6);
      assert.deepEqual(
        seen.map((e) => e.seq),
        [6, 5, 4, 3, 2, 1],
      );
    });

    it("when a user asks for someone else's events, then 404; the admins' list is 403 for them", async () => {
      const user = await createUserAndLogin(app.server, app.services);
      const other = await createUserAndLogin(app.server, app.services);
      const res = await app.server.inject({
        method: 'GET',
        url: `/api/v1/users/${other.id}/security-events`,
        headers: bearer(user.accessToken),
      });
      assert.equal(res.statusCode, 404);
      const list = await app.server.inject({
        method: 'GET',
        url: '/api/v1/security-events',
        headers: bearer(user.accessToken),
      });
      assert.equal(list.statusCode, 403);
    });

    it('when the ADMIN_EMAIL bootstrap creates the admin, then account-created says so, with no actor', async () => {
      const email = `boot-${randomUUID()}@example.com`;
      const booted = await startApp(setup.engine, {
        env: { ADMIN_EMAIL: email, ADMIN_PASSWORD: 'a bootstrap passphrase' },
      });
      try {
        const { accessToken } = await login(booted.server, email, 'a bootstrap passphrase');
        const res = await booted.server.inject({
          method: 'GET',
          url: '/api/v1/users/me/security-events?type=account-created',
          headers: bearer(accessToken),
        });
        const [created] = res.json<EventPage>().data;
        assert.equal(created?.details.via, 'bootstrap');
        assert.equal(created.actorId, null);
      } finally {
        await booted.close();
      }
    });

    it('when GraphQL pages through securityEvents, then it returns what REST returns, page by page', async () => {
      const user = await createUserAndLogin(app.server, app.services);
      for (let i = 0; i < 2; i++) await login(app.server, user.email, user.password);
      const ids: string[] = [];
      let after: string | null = null;
      do {
        const res: LightMyRequestResponse = await app.server.inject({
          method: 'POST',
          url: '/graphql',
          headers: bearer(user.accessToken),
          payload: {
            query: `query ($userId: ID, $after: String) {
              securityEvents(userId: $userId, limit: 2, after: $after) {
                items { id type details { name value } } nextCursor } }`,
            variables: { userId: user.id, after },
          },
        });
        const body = res.json<{
          data: { securityEvents: { items: { id: string }[]; nextCursor: string | null } };
        }>();
        assert.ok(body.data, res.body);
        ids.push(...body.data.securityEvents.items.map((e) => e.id));
        after = body.data.securityEvents.nextCursor;
      } while (after);
      const rest = await events(user.accessToken, '/api/v1/users/me/security-events?limit=100');
      assert.deepEqual(
        ids,
        rest.data.map((e) => e.id),
      );
      assert.equal(ids.length, 4); // account-created and three sign-ins
    });

    it("when the emailed flows run, then each records its event in the account's log", async () => {
      const email = `flows-${randomUUID()}@example.com`;
      const registered = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { name: 'Flows', email, password: PASSWORD },
      });
      assert.equal(registered.statusCode, 201, registered.body);
      const id = registered.json<{ data: { id: string } }>().data.id;
      const post = (url: string, payload: object) =>
        app.server.inject({ method: 'POST', url: `/api/v1/auth/${url}`, payload });
      // Tokens as the email jobs mint them (the emails themselves: test/http/account-emails).
      const tokens = new AccountTokensRepository(app.database.db);
      const verify = (await tokens.issue('verify-email', id, email, 60_000))!;
      assert.equal((await post('verify-email', { token: verify })).statusCode, 200);
      assert.equal((await post('forgot-password', { email })).statusCode, 204);
      const reset = (await tokens.issue('reset-password', id, email, 60_000))!;
      const done = await post('reset-password', { token: reset, password: NEW_PASSWORD });
      assert.equal(done.statusCode, 204, done.body);
      const [unknown] = await adminEvents(
        `userId=00000000-0000-0000-0000-000000000000&type=password-reset-requested`,
      );
      assert.equal((await post('forgot-password', { email: `no-${email}` })).statusCode, 204);
      const types = (await adminEvents(`userId=${id}&limit=50`)).map((e) => e.type);
      for (const type of [
        'account-created',
        'email-verification-sent',
        'email-verified',
        'password-reset-requested',
        'password-reset',
      ]) {
        assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
      }
      // An unknown address is recorded too, on the chain of events without an account.
      const [latest] = await adminEvents(
        `userId=00000000-0000-0000-0000-000000000000&type=password-reset-requested`,
      );
      assert.ok(latest && latest.id !== unknown?.id, 'the unknown address is recorded');
    });

    it('when all of this was recorded, then every chain verifies', async () => {
      const { SecurityLogVerifier } = await import('../../src/platform/audit/verify.js');
      const reports = await new SecurityLogVerifier(app.database.db).verifyAll();
      assert.ok(reports.length > 5);
      assert.deepEqual(
        reports.filter((r) => r.broken),
        [],
      );
    });
  });
}
