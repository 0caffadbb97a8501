import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { RedisPendingCounters } from '../../src/platform/cache/redis-counters.js';
import { startApp, type StartedApp } from '../support/app.js';
import { createUserAndLogin } from '../support/auth.js';
import { engines } from '../support/databases.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { openRedis, redisSkip } from '../support/redis.js';
import { sleep } from '../support/time.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const skip = engine.skip ?? redisSkip;

const createPost = (app: StartedApp, authorId: string) =>
  app.services.posts.createPost(
    { userId: authorId, role: 'user' },
    { title: 'Counted', content: 'Every read of this post is a view.' },
  );

describe('post views written behind (PostgreSQL + Redis)', { skip }, () => {
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
      .selectFrom('posts')
      .select(sql<string>`view_count::text`.as('views'))
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.views);
  }

  const view = (app: StartedApp, id: string) =>
    app.server.inject({ method: 'GET', url: `/api/v1/posts/${id}` });

  async function somePosts(n: number) {
    const author = await createUserAndLogin(first.server, first.services);
    return Promise.all(Array.from({ length: n }, () => createPost(first, author.id)));
  }

  it('when views arrive concurrently on two processes, then one flush adds exactly them', async () => {
    const posts = await somePosts(3);
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => view(i % 2 ? first : second, posts[i % 3]!.id)),
    );
    await first.viewFlusher.flush();
    for (const post of posts) assert.equal(await storedViews(post.id), 100);
  });

  it('when two processes flush at once while views keep coming, then the totals are exact', async () => {
    const [post] = await somePosts(1);
    let sent = 0;
    for (let round = 0; round < 10; round++) {
      const views = Array.from({ length: 40 }, (_, i) => view(i % 2 ? first : second, post!.id));
      sent += views.length;
      await Promise.all([
        ...views,
        first.viewFlusher.flush(),
        second.viewFlusher.flush(),
        sleep(round % 3).then(() => first.viewFlusher.flush()),
      ]);
    }
    await Promise.all([first.viewFlusher.flush(), second.viewFlusher.flush()]);
    assert.equal(await storedViews(post!.id), sent);
  });

  it('when a flusher dies between claiming a batch and writing it, then another applies it once', async () => {
    const [post] = await somePosts(1);
    await Promise.all(Array.from({ length: 25 }, () => view(first, post!.id)));
    // The dying flusher: claims (the RENAME) with a short lease, then never writes or acks.
    const crashed = new RedisPendingCounters(redis!, viewCountersName);
    const orphan = await crashed.claim(100);
    assert.equal(orphan?.counts.get(post!.id), 25);
    await Promise.all(Array.from({ length: 5 }, () => view(first, post!.id)));
    await second.viewFlusher.flush();
    assert.equal(await storedViews(post!.id), 5, 'the orphan is leased: not taken yet');
    // The lease runs out (a Redis key with PX): ended now rather than waited for.
    await redis!.del(`stratum:v1:{${viewCountersName}}:lease:${orphan.id}`);
    await Promise.all([first.viewFlusher.flush(), second.viewFlusher.flush()]);
    assert.equal(await storedViews(post!.id), 30);
    await Promise.all([first.viewFlusher.flush(), second.viewFlusher.flush()]);
    assert.equal(await storedViews(post!.id), 30);
    assert.equal(await redis!.scard(`stratum:v1:{${viewCountersName}}:batches`), 0);
  });

  it('when a flusher dies after its transaction committed but before the ack, then the batch is not counted twice', async () => {
    const [post] = await somePosts(1);
    await Promise.all(Array.from({ length: 7 }, () => view(first, post!.id)));
    const crashed = new RedisPendingCounters(redis!, viewCountersName);
    const batch = (await crashed.claim(100))!;
    await first.services.posts.applyViews(batch); // committed; the ack never happens
    assert.equal(await storedViews(post!.id), 7);
    await redis!.del(`stratum:v1:{${viewCountersName}}:lease:${batch.id}`);
    await second.viewFlusher.flush();
    assert.equal(await storedViews(post!.id), 7);
    assert.equal(await redis!.exists(`stratum:v1:{${viewCountersName}}:batch:${batch.id}`), 0);
  });

  it('when the API process closes, then the views it counted are flushed', async () => {
    const third = await startApp(engine, {
      database,
      redis,
      viewCountersName,
      env: { FLUSH_INTERVAL_MS: '3600000' },
    });
    const [post] = await somePosts(1);
    await Promise.all(Array.from({ length: 12 }, () => view(third, post!.id)));
    await third.close();
    assert.equal(await storedViews(post!.id), 12);
  });
});

describe(
  'post views written behind (embedded, memory counters)',
  { skip: engines[0]!.skip },
  () => {
    it('when the API process closes, then the views it counted are flushed', async () => {
      const embedded = engines.find((e) => e.name === 'pglite')!;
      const database = await embedded.open();
      try {
        const app = await startApp(embedded, { database, env: { FLUSH_INTERVAL_MS: '3600000' } });
        const user = await createUserAndLogin(app.server, app.services);
        const post = await createPost(app, user.id);
        await Promise.all(
          Array.from({ length: 9 }, () =>
            app.server.inject({ method: 'GET', url: `/api/v1/posts/${post.id}` }),
          ),
        );
        await app.close();
        const row = await database.db
          .selectFrom('posts')
          .select(sql<string>`view_count::text`.as('views'))
          .where('id', '=', post.id)
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.views), 9);
      } finally {
        await database.close();
      }
    });
  },
);
