import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startService, waitUntilReady, type RunningService } from '../support/service-process.js';
import { sleep } from '../support/time.js';
import { HttpClient, type Outcome } from './support/http-client.js';
import { bearer, signUp, type Member } from './support/members.js';
import { faultSkip, startStack, type FaultStack } from './support/stack.js';

/*
 * Two API processes share a Redis that stops and starts again. A session ended through one of
 * them — before the outage, during it, or through a process started after it — must never be
 * accepted by another: the deny-list mirrors resync, and PostgreSQL answers while Redis can't.
 */

describe(
  'access-token revocation across a Redis restart',
  { skip: faultSkip, timeout: 240_000 },
  () => {
    let stack: FaultStack;
    const apis: RunningService[] = [];
    const clients: HttpClient[] = [];
    const start = async () => {
      const api = await startService({ ...stack.env, MIGRATE_ON_START: 'false' }, 90_000);
      apis.push(api);
      await waitUntilReady(api.port, 60_000);
      const client = new HttpClient(api.port);
      clients.push(client);
      return client;
    };

    before(async () => {
      stack = await startStack({ RATE_LIMIT_MAX: '100000', RATE_LIMIT_WINDOW_MS: '60000' });
      // The first one migrates the database; the others find it current.
      const first = await startService(stack.env, 90_000);
      apis.push(first);
      await waitUntilReady(first.port, 60_000);
    });
    after(async () => {
      for (const client of clients) client.close();
      for (const api of apis) api.kill();
      await stack?.close();
    });

    it('when sessions end before, during and after Redis is stopped, then no process accepts their tokens at any time', async (t: TestContext) => {
      const a = new HttpClient(apis[0]!.port);
      clients.push(a);
      const b = await start();
      const me = (client: HttpClient, m: Member) =>
        client.request('GET', '/api/v1/users/me', { headers: bearer(m.token) });
      const logout = async (client: HttpClient, m: Member) => {
        const res = await client.request('POST', '/api/v1/auth/logout', {
          headers: bearer(m.token),
        });
        assert.equal(res.status, 204, JSON.stringify(res.body));
        return Date.now();
      };
      const [before, during, bystander] = await Promise.all([1, 2, 3].map(() => signUp(a)));
      for (const m of [before!, during!, bystander!]) assert.equal((await me(b, m)).status, 200);

      // B keeps presenting both tokens from here to the end; each answer is checked below.
      const endedAt = new Map<Member, number>();
      const watched: { member: Member; outcome: Outcome }[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const member of [before!, during!])
            watched.push({ member, outcome: await me(b, member) });
          await sleep(20);
        }
      })();

      endedAt.set(before!, await logout(a, before!));
      await sleep(500);
      await stack.redis.stop();
      await sleep(1_500);
      endedAt.set(during!, await logout(a, during!));
      await sleep(1_500);
      assert.equal((await me(b, during!)).status, 401, 'refused during the outage');
      assert.equal((await me(b, bystander!)).status, 200, 'others served during the outage');

      await stack.redis.start();
      await Promise.all(apis.map((api) => waitUntilReady(api.port, 30_000)));
      await sleep(1_500);
      // Started after Redis returned: it knows only what Redis and the database tell it.
      const c = await start();
      for (const client of [a, b, c]) {
        for (const m of [before!, during!]) assert.equal((await me(client, m)).status, 401);
        assert.equal((await me(client, bystander!)).status, 200);
      }
      watching = false;
      await watcher;

      const accepted = watched.filter(
        ({ member, outcome }) =>
          outcome.startedAt >= endedAt.get(member)! && outcome.status !== 401,
      );
      t.diagnostic(
        `${watched.length} checks on the second process; ${accepted.length} not refused`,
      );
      assert.deepEqual(
        accepted.map(({ outcome }) => `${outcome.status} at ${outcome.startedAt}`),
        [],
        'every check after a logout refused',
      );
    });
  },
);
