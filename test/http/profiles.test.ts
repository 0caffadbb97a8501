import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { selects } from '../support/instrumented-database.js';
import { cacheSetups, useInstrumentedApp } from '../support/setups.js';

interface ProfileBody {
  id: string;
  name: string;
  createdAt: string;
}

for (const setup of cacheSetups) {
  describe(`public profiles on ${setup.name}`, { skip: setup.skip }, () => {
    const context = useInstrumentedApp(setup);

    const profile = (id: string) =>
      context.app.server.inject({ method: 'GET', url: `/api/v1/users/${id}/profile` });
    const patch = (id: string, payload: object) =>
      context.app.server.inject({
        method: 'PATCH',
        url: `/api/v1/users/${id}`,
        headers: bearer(context.admin.accessToken),
        payload,
      });

    it('when a guest reads a profile, then it gets the public fields only', async () => {
      const user = await createUserAndLogin(context.app.server, context.app.services);
      const res = await profile(user.id);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<{ data: ProfileBody }>().data;
      assert.deepEqual(Object.keys(body).sort(), ['createdAt', 'id', 'name']);
      assert.equal(body.id, user.id);
    });

    it('when a user is renamed, then the next profile read has the new name', async () => {
      const user = await createUserAndLogin(context.app.server, context.app.services);
      assert.equal((await profile(user.id)).statusCode, 200);
      assert.equal((await patch(user.id, { name: 'Renamed' })).statusCode, 200);
      const res = await profile(user.id);
      assert.equal(res.json<{ data: ProfileBody }>().data.name, 'Renamed');
    });

    it('when renames race, then the profile ends with the last committed name', async () => {
      const user = await createUserAndLogin(context.app.server, context.app.services);
      await Promise.all(Array.from({ length: 20 }, (_, i) => patch(user.id, { name: `n${i}` })));
      const fromDatabase = await context.app.services.users.getUser(
        { userId: 'system', role: 'admin' },
        user.id,
      );
      const res = await profile(user.id);
      assert.equal(res.json<{ data: ProfileBody }>().data.name, fromDatabase.name);
    });

    it('when a user is deleted, then the profile is 404 at once', async () => {
      const user = await createUserAndLogin(context.app.server, context.app.services);
      assert.equal((await profile(user.id)).statusCode, 200);
      const del = await context.app.server.inject({
        method: 'DELETE',
        url: `/api/v1/users/${user.id}`,
        headers: bearer(context.admin.accessToken),
      });
      assert.equal(del.statusCode, 204);
      assert.equal((await profile(user.id)).statusCode, 404);
    });

    it('when an unknown id is asked for, then 404', async () => {
      const res = await profile(randomUUID());
      assert.equal(res.statusCode, 404);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');
    });

    it('when many profiles are asked for at once, then one statement reads them', async () => {
      const users = await Promise.all(
        Array.from({ length: 5 }, () =>
          createUserAndLogin(context.app.server, context.app.services),
        ),
      );
      const ids = [...users.map((u) => u.id), users[0]!.id, randomUUID()];
      context.db.reset();
      const profiles = await context.app.services.profiles.getProfiles(
        { userId: null, role: 'guest' },
        ids,
      );
      assert.equal(selects(context.db.statements), 1);
      assert.deepEqual([...profiles.keys()].sort(), users.map((u) => u.id).sort());
      assert.equal(profiles.get(users[0]!.id)?.name, 'Test');
    });
  });
}
