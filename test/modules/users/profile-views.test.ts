import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { RedisPendingCounters } from '../../../src/platform/cache/redis-counters.js';
import { startApp, type StartedApp } from '../../helpers/app.js';
import { createUserAndLogin } from '../../helpers/auth.js';
import { engines } from '../../helpers/databases.js';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { openRedis, redisSkip } from '../../helpers/redis.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const skip = engine.skip ?? redisSkip;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('profile views written behind (PostgreSQL + Redis)', { skip }, () => {
  let database: DatabaseHandle;
  let first: StartedApp;
  let second: StartedApp;
  const redis = skip ? undefined : openRedis();
  // Both apps are API processes of one deployment: one database, one Redis, one counter set.
  const viewCountersName = `views-test-${randomUUID()}`;

  before(async () => {
    database = await engine.open();
    const options = {
      database,
      redis,
      viewCountersName,
      env: { FLUSH_INTERVAL_MS: '3600000' },
    };
    first = await startApp(engine, options);
    second = await startApp(engine, options);
  });
  after(async () => {
    await first.close();
    await second.close();
    await database.close();
    redis?.disconnect();
  });

  async function storedViews(id: string): Promise<number> {
    const row = await database.db
      .selectFrom('users')
      .select(sql<string>`profile_views::text`.as('views'))
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.views);
  }

  const view = (app: StartedApp, id: string) =>
    app.server.inject({ method: 'GET', url: `/api/v1/users/${id}/profile` });

  async function someUsers(n: number) {
    return Promise.all(
      Array.from({ length: n }, () => createUserAndLogin(first.server, first.services)),
    );
  }

  it('when views arrive concurrently on two processes, then one flush adds exactly them', async () => {
    const users = await someUsers(3);
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => view(i % 2 ? first : second, users[i % 3]!.id)),
    );
    await first.viewFlusher.flush();
    for (const user of users) assert.equal(await storedViews(user.id), 100);
  });

  it('when two processes flush at once while views keep coming, then the totals are exact', async () => {
    const [user] = await someUsers(1);
    let sent = 0;
    for (let round = 0; round < 10; round++) {
      const views = Array.from({ length: 40 }, (_, i) => view(i % 2 ? first : second, user!.id));
      sent += views.length;
      await Promise.all([
        ...views,
        first.viewFlusher.flush(),
        second.viewFlusher.flush(),
        sleep(round % 3).then(() => first.viewFlusher.flush()),
      ]);
    }
    await Promise.all([first.viewFlusher.flush(), second.viewFlusher.flush()]);
    assert.equal(await storedViews(user!.id), sent);
  });

  it('when a flusher dies between claiming a batch and writing it, then another applies it once', async () => {
    const [user] = await someUsers(1);
    await Promise.all(Array.from({ length: 25 }, () => view(first, user!.id)));
    // The dying flusher: claims (the RENAME) with a short lease, then never writes or acks.
    const crashed = new RedisPendingCounters(redis!, viewCountersName);
    const orphan = await crashed.claim(100);
    assert.equal(orphan?.counts.get(user!.id), 25);
    await Promise.all(Array.from({ length: 5 }, () => view(first, user!.id)));
    await second.viewFlusher.flush();
    assert.equal(await storedViews(user!.id), 5, 'the orphan is leased: not taken yet');
    await sleep(150);
    await Promise.all([first.viewFlusher.flush(), second.viewFlusher.flush()]);
    assert.equal(await storedViews(user!.id), 30);
    await Promise.all([first.viewFlusher.flush(), second.viewFlusher.flush()]);
    assert.equal(await storedViews(user!.id), 30);
    assert.equal(await redis!.scard(`stratum:v1:${viewCountersName}:batches`), 0);
  });

  it('when a flusher dies after its transaction committed but before the ack, then the batch is not counted twice', async () => {
    const [user] = await someUsers(1);
    await Promise.all(Array.from({ length: 7 }, () => view(first, user!.id)));
    const crashed = new RedisPendingCounters(redis!, viewCountersName);
    const batch = (await crashed.claim(100))!;
    await first.services.profiles.applyViews(batch); // committed; the ack never happens
    assert.equal(await storedViews(user!.id), 7);
    await sleep(150);
    await second.viewFlusher.flush();
    assert.equal(await storedViews(user!.id), 7);
    assert.equal(await redis!.exists(`stratum:v1:${viewCountersName}:batch:${batch.id}`), 0);
  });

  it('when the API process closes, then the views it counted are flushed', async () => {
    const third = await startApp(engine, {
      database,
      redis,
      viewCountersName,
      env: { FLUSH_INTERVAL_MS: '3600000' },
    });
    const [user] = await someUsers(1);
    await Promise.all(Array.from({ length: 12 }, () => view(third, user!.id)));
    await third.close();
    assert.equal(await storedViews(user!.id), 12);
  });
});

describe(
  'profile views written behind (embedded, memory counters)',
  { skip: engines[0]!.skip },
  () => {
    it('when the API process closes, then the views it counted are flushed', async () => {
      const embedded = engines.find((e) => e.name === 'pglite')!;
      const database = await embedded.open();
      try {
        const app = await startApp(embedded, { database, env: { FLUSH_INTERVAL_MS: '3600000' } });
        const user = await createUserAndLogin(app.server, app.services);
        await Promise.all(
          Array.from({ length: 9 }, () =>
            app.server.inject({ method: 'GET', url: `/api/v1/users/${user.id}/profile` }),
          ),
        );
        await app.close();
        const row = await database.db
          .selectFrom('users')
          .select(sql<string>`profile_views::text`.as('views'))
          .where('id', '=', user.id)
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.views), 9);
      } finally {
        await database.close();
      }
    });
  },
);
