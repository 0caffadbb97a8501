import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { connectRedis } from '../../src/composition/dependencies.js';
import { startApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { selects } from '../support/instrumented-database.js';
import { cacheSetups, useInstrumentedApp } from '../support/setups.js';
import { sleep } from '../support/time.js';

const admin = { userId: 'system', role: 'admin' as const };

for (const setup of cacheSetups) {
  describe(`users cache-aside on ${setup.name}`, { skip: setup.skip }, () => {
    const context = useInstrumentedApp(setup);

    const get = (id: string, token = context.admin.accessToken) =>
      context.app.server.inject({
        method: 'GET',
        url: `/api/v1/users/${id}`,
        headers: bearer(token),
      });

    it('when 200 requests miss one user at once, then the database is read once', async () => {
      const user = await createUserAndLogin(context.app.server, context.app.services);
      context.db.delay = () => 20; // a slow read, so all 200 arrive while it runs
      context.db.reset();
      const responses = await Promise.all(Array.from({ length: 200 }, () => get(user.id)));
      assert.ok(responses.every((r) => r.statusCode === 200));
      assert.equal(selects(context.db.statements), 1);
      context.db.reset();
      assert.equal((await get(user.id)).statusCode, 200);
      // Only SELECTs count: the outbox poller's statements may land in between.
      assert.equal(selects(context.db.statements), 0, 'the next read is a hit');
    });

    it('when a user is read twice, then the second read costs no query', async () => {
      const user = await createUserAndLogin(context.app.server, context.app.services);
      await get(user.id);
      context.db.reset();
      const me = await context.app.server.inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: bearer(user.accessToken),
      });
      assert.equal(me.statusCode, 200);
      assert.equal(selects(context.db.statements), 0);
    });

    it('when a user is written in any way, then the next read returns the new row', async () => {
      const user = await createUserAndLogin(context.app.server, context.app.services);
      const name = async () => (await get(user.id)).json<{ data: { name: string } }>().data;
      const write = async (
        method: 'PUT' | 'PATCH',
        payload: object,
        token = context.admin.accessToken,
      ) => {
        const res = await context.app.server.inject({
          method,
          url: `/api/v1/users/${user.id}`,
          headers: bearer(token),
          payload,
        });
        assert.equal(res.statusCode, 200, res.body);
      };
      await name();
      await write('PATCH', { name: 'Patched' });
      assert.equal((await name()).name, 'Patched');
      await write('PUT', { name: 'Put', email: user.email, role: 'user', status: 'active' });
      assert.equal((await name()).name, 'Put');
      await write('PATCH', { role: 'admin' });
      assert.deepEqual((await get(user.id)).json<{ data: { role: string } }>().data.role, 'admin');
      await write('PATCH', { status: 'suspended' });
      assert.equal(
        (await get(user.id)).json<{ data: { status: string } }>().data.status,
        'suspended',
      );
      const updatedBefore = (await name()) as unknown as { updatedAt: string };
      await write('PATCH', { password: 'a new password' });
      const updatedAfter = (await name()) as unknown as { updatedAt: string };
      assert.notEqual(updatedAfter.updatedAt, updatedBefore.updatedAt, 'password change seen');
      const del = await context.app.server.inject({
        method: 'DELETE',
        url: `/api/v1/users/${user.id}`,
        headers: bearer(context.admin.accessToken),
      });
      assert.equal(del.statusCode, 204);
      assert.equal((await get(user.id)).statusCode, 404);
    });

    it('when an unknown id is read, then it is remembered briefly, and forgotten on create', async () => {
      const id = randomUUID();
      assert.equal((await get(id)).statusCode, 404);
      context.db.reset();
      assert.equal((await get(id)).statusCode, 404);
      assert.equal(selects(context.db.statements), 0, 'negative entry served from the cache');
    });

    it('when a slow read spans a write, then neither it nor a read joining later keeps the old row', async () => {
      const email = `span-${randomUUID()}@example.com`;
      const user = await context.app.services.users.createUser(admin, { name: 'old', email });
      let first = true;
      context.db.delay = () => (first ? ((first = false), 150) : 0);
      const slow = context.app.services.users.getUser(admin, user.id);
      await sleep(5);
      await context.app.services.users.updateUser(admin, user.id, { name: 'new' });
      // Started after the write completed: must not join the slow read still in flight.
      const after = await context.app.services.users.getUser(admin, user.id);
      assert.equal(after.name, 'new');
      await slow;
      // The slow read's fill was refused: the cache doesn't hold the old row either.
      assert.equal((await context.app.services.users.getUser(admin, user.id)).name, 'new');
    });

    it('when reads and writes interleave at random, then no read after a completed write is stale', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.array(
              fc.record({
                op: fc.constantFrom('read' as const, 'write' as const),
                // When it starts within its round: reads start during and after writes.
                at: fc.integer({ min: 0, max: 40 }),
              }),
              { minLength: 1, maxLength: 5 },
            ),
            { minLength: 1, maxLength: 5 },
          ),
          // Mostly quick results, some slow enough to span a whole concurrent write.
          fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 15, max: 40 })), {
            minLength: 1,
            maxLength: 50,
          }),
          async (rounds, delays) => {
            let d = 0;
            context.db.delay = () => delays[d++ % delays.length]!;
            const email = `p-${randomUUID()}@example.com`;
            const user = await context.app.services.users.createUser(admin, {
              name: 'initial',
              email,
            });
            let clock = 0;
            const writes = new Map<string, { start: number; end: number }>([
              ['initial', { start: -2, end: -1 }],
            ]);
            const reads: { start: number; name: string }[] = [];
            let n = 0;
            for (const round of rounds) {
              await Promise.all(
                round.map(async ({ op, at }) => {
                  await sleep(at);
                  const start = ++clock;
                  if (op === 'read') {
                    const found = await context.app.services.users.getUser(admin, user.id);
                    reads.push({ start, name: found.name });
                  } else {
                    const name = `w${++n}`;
                    await context.app.services.users.updateUser(admin, user.id, { name });
                    writes.set(name, { start, end: ++clock });
                  }
                }),
              );
            }
            for (const read of reads) {
              const source = writes.get(read.name)!;
              // Stale: a write that began after the read value's write ended, and ended before
              // the read began, must have replaced it in the database before the read.
              const overtaken = [...writes.values()].some(
                (w) => w.start > source.end && w.end < read.start,
              );
              assert.ok(!overtaken, `read at ${read.start} saw ${read.name}, already replaced`);
            }
            context.db.delay = () => 0;
            const final = await context.app.services.users.getUser(admin, user.id);
            const fresh = await context.app.services.users.updateUser(admin, user.id, {});
            assert.equal(final.name, fresh.name);
          },
        ),
        // PGlite has one connection, so reads and writes can't overlap there: fewer runs.
        { numRuns: setup.redis ? 25 : 8 },
      );
    });
  });
}

describe('users when Redis is unreachable', { skip: engines[1]!.skip }, () => {
  it('when Redis is down, then reads fall through to the database and writes still succeed', async () => {
    // Nothing listens on port 1: with the offline queue off, every command fails at once.
    const deadRedis = connectRedis({ kind: 'single', url: 'redis://127.0.0.1:1' }, 'fail-fast', {
      connectTimeoutMs: 200,
      commandTimeoutMs: 200,
    });
    const broken = await startApp(
      engines.find((e) => e.name === 'pglite')!,
      {
        redis: deadRedis,
        env: { REDIS_COMMAND_TIMEOUT_MS: '200' },
      },
    );
    try {
      const email = `down-${randomUUID()}@example.com`;
      const user = await broken.services.users.createUser(admin, { name: 'Down', email });
      const read = await broken.services.users.getUser(admin, user.id);
      assert.equal(read.name, 'Down');
      const patched = await broken.services.users.updateUser(admin, user.id, { name: 'Still' });
      assert.equal(patched.name, 'Still');
      assert.equal((await broken.services.users.getUser(admin, user.id)).name, 'Still');
      const profile = await broken.server.inject({
        method: 'GET',
        url: `/api/v1/users/${user.id}/profile`,
      });
      assert.equal(profile.statusCode, 200, profile.body);
    } finally {
      await broken.close();
      deadRedis.disconnect();
    }
  });
});

describe('the admin bootstrap', { skip: engines[0]!.skip }, () => {
  it('when the ADMIN_EMAIL address belongs to an account, then it is not promoted and the outcome says so', async () => {
    const app = await startApp(engines[0]!);
    try {
      const email = `first-admin-${randomUUID()}@example.com`;
      const user = await app.services.users.createUser(admin, { name: 'Not an admin', email });
      assert.equal((await app.services.users.getUser(admin, user.id)).role, 'user');
      // The test app has no admin yet: only the address stands in the way.
      const result = await app.services.users.ensureAdmin(email, 'a long admin password');
      assert.equal(result.outcome, 'address-taken');
      assert.equal((await app.services.users.getUser(admin, user.id)).role, 'user');
    } finally {
      await app.close();
    }
  });
});
