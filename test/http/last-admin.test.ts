import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, login, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';

const code = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;

for (const engine of engines) {
  describe(`the last active admin on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    before(async () => {
      app = await startApp(engine);
    });
    after(() => app.close());
    // Each test starts with no admin at all, then makes the ones it needs.
    beforeEach(async () => {
      await sql`update users set role = 'user' where role = 'admin'`.execute(app.database.db);
    });

    const newAdmin = () => createUserAndLogin(app.server, app.services, 'admin');
    const patch = (as: TestUser, id: string, payload: object) =>
      app.server.inject({
        method: 'PATCH',
        url: `/api/v1/users/${id}`,
        headers: bearer(as.accessToken),
        payload,
      });
    const remove = (as: TestUser, id: string) =>
      app.server.inject({
        method: 'DELETE',
        url: `/api/v1/users/${id}`,
        headers: bearer(as.accessToken),
      });

    it('when the only admin demotes, suspends or deletes themselves, then 409 LAST_ADMIN and nothing changes', async () => {
      const admin = await newAdmin();
      for (const payload of [{ role: 'user' }, { status: 'suspended' }]) {
        const res = await patch(admin, admin.id, payload);
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(code(res.body), 'LAST_ADMIN');
      }
      const deleted = await remove(admin, admin.id);
      assert.equal(deleted.statusCode, 409);
      assert.equal(code(deleted.body), 'LAST_ADMIN');
      const me = await app.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: bearer(admin.accessToken),
      });
      assert.equal(me.json<{ data: { role: string } }>().data.role, 'admin');
    });

    it('when another active admin remains, then an admin may step down, and the sessions end', async () => {
      const stays = await newAdmin();
      const leaves = await newAdmin();
      const res = await patch(stays, leaves.id, { role: 'user' });
      assert.equal(res.statusCode, 200, res.body);
      // Its tokens carried the admin role: they and their refresh tokens end with the change.
      const stale = await app.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: bearer(leaves.accessToken),
      });
      assert.equal(stale.statusCode, 401);
      const refreshed = await app.server.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: leaves.refreshToken },
      });
      assert.equal(refreshed.statusCode, 401);
      // The one left can't go now.
      assert.equal((await patch(stays, stays.id, { role: 'user' })).statusCode, 409);
    });

    it('when a suspended admin is all that would remain, then it does not count', async () => {
      const active = await newAdmin();
      const suspended = await newAdmin();
      assert.equal((await patch(active, suspended.id, { status: 'suspended' })).statusCode, 200);
      const res = await patch(active, active.id, { role: 'user' });
      assert.equal(res.statusCode, 409);
    });

    it('when two admins demote each other at the same moment, then exactly one succeeds', async () => {
      for (let round = 0; round < 3; round++) {
        await sql`update users set role = 'user' where role = 'admin'`.execute(app.database.db);
        const a = await newAdmin();
        const b = await newAdmin();
        const [first, second] = await Promise.all([
          patch(a, b.id, { role: 'user' }),
          patch(b, a.id, { role: 'user' }),
        ]);
        const statuses = [first.statusCode, second.statusCode].sort();
        assert.ok(
          statuses[0] === 200 && [401, 409].includes(statuses[1]!),
          `round ${round}: ${statuses.join(', ')}`,
        );
        const admins = await sql<{ n: number }>`
          select count(*)::int as n from users where role = 'admin' and status = 'active'`.execute(
          app.database.db,
        );
        assert.equal(admins.rows[0]!.n, 1);
      }
    });
  });
}

describe('the admin bootstrap at start-up', { skip: engines[1]!.skip }, () => {
  it('when ADMIN_EMAIL was registered by someone else and no admin is left, then a restart promotes no one', async () => {
    const engine = engines[1]!;
    const database = await engine.open();
    const email = `boot-${randomUUID()}@example.com`;
    const env = { ADMIN_EMAIL: email, ADMIN_PASSWORD: 'operator chosen passphrase' };
    try {
      const first = await startApp(engine, { database, env });
      // The admin moves to another address (changed by a second admin: at once, where the
      // admin's own change would wait for the new address to confirm); someone registers the
      // old one.
      const [me] = (
        await sql<{ id: string }>`select id from users where email = ${email}`.execute(database.db)
      ).rows;
      const helper = await first.services.users.createUser(
        { userId: me!.id, role: 'admin' },
        {
          name: 'Helper',
          email: `helper-${randomUUID()}@example.com`,
          role: 'admin',
          password: 'operator chosen passphrase',
        },
      );
      const helperSession = await login(first.server, helper.email, 'operator chosen passphrase');
      const moved = await first.server.inject({
        method: 'PATCH',
        url: `/api/v1/users/${me!.id}`,
        headers: bearer(helperSession.accessToken),
        payload: { email: `moved-${randomUUID()}@example.com` },
      });
      assert.equal(moved.statusCode, 200, moved.body);
      const squatter = await first.server.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { name: 'Squatter', email, password: 'squatter own passphrase' },
      });
      assert.equal(squatter.statusCode, 201);
      await first.server.close();
      // No admin left (as if the admin were removed by hand): the restart must still not promote.
      await sql`update users set role = 'user'`.execute(database.db);
      const second = await startApp(engine, { database, env });
      const role = await sql<{
        role: string;
      }>`select role from users where email = ${email}`.execute(database.db);
      assert.equal(role.rows[0]!.role, 'user');
      await second.server.close();
    } finally {
      await database.close();
    }
  });
});
