import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { DEMO_PASSWORD, demoUsers, insertUsers, seedDemoData } from '../../src/cli/seed-users.js';
import { Argon2PasswordHasher } from '../../src/platform/auth/passwords.js';
import { startApp } from '../support/app.js';
import { engines } from '../support/databases.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const hasher = new Argon2PasswordHasher();
const hashPassword = (password: string) => hasher.hash(password);

describe('the demo users of npm run db:seed', { skip: engine.skip }, () => {
  it('when seeded for development, then the printed logins sign in, the admin as admin', async () => {
    const database = await engine.open();
    try {
      const seeded = await seedDemoData(database.db, { production: false, hashPassword });
      assert.equal(seeded.inserted, seeded.total);
      const admin = seeded.logins.find((login) => login.role === 'admin')!;
      const user = seeded.logins.find((login) => login.role === 'user')!;
      const app = await startApp(engine, { database });
      try {
        for (const login of [admin, user]) {
          const res = await app.server.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { email: login.email, password: DEMO_PASSWORD },
          });
          assert.equal(res.statusCode, 200, res.body);
          assert.equal(res.json<{ data: { user: { role: string } } }>().data.user.role, login.role);
        }
      } finally {
        await app.server.close();
      }
    } finally {
      await database.close();
    }
  });

  it('when an earlier seed left the demo admin without a password, then seeding again gives it one', async () => {
    const database = await engine.open();
    try {
      await insertUsers(database.db, demoUsers());
      const again = await seedDemoData(database.db, { production: false, hashPassword });
      assert.equal(again.inserted, 0);
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from users where password_hash is null`.execute(database.db);
      assert.equal(rows[0]!.n, 0);
    } finally {
      await database.close();
    }
  });

  it('when seeded in production, then there is no demo admin and no demo password', async () => {
    const database = await engine.open();
    try {
      const seeded = await seedDemoData(database.db, { production: true, hashPassword });
      assert.deepEqual(seeded.logins, []);
      const { rows } = await sql<{ admins: number; hashed: number }>`
        select count(*) filter (where role = 'admin')::int as admins,
               count(password_hash)::int as hashed
        from users`.execute(database.db);
      assert.deepEqual(rows[0], { admins: 0, hashed: 0 });
    } finally {
      await database.close();
    }
  });
});
