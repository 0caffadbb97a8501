import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startService, waitUntilReady, type RunningService } from '../support/service-process.js';
import { eventually, sleep } from '../support/time.js';
import { dataOf, HttpClient } from './support/http-client.js';
import { bearer, signUp, type Member } from './support/members.js';
import { faultSkip, startStack, type FaultStack } from './support/stack.js';

/*
 * Two API processes, each with its in-process cache level in front of Redis. Redis stops while
 * they hold a user, the user is edited through one of them, and Redis comes back with the old
 * entry still in its append-only file: no process may serve the old row, then or after.
 */

const STALENESS_MS = 200;

describe(
  'the in-process cache level when Redis stops and returns',
  { skip: faultSkip, timeout: 170_000 },
  () => {
    let stack: FaultStack;
    const apis: RunningService[] = [];
    const clients: HttpClient[] = [];

    before(async () => {
      stack = await startStack({
        CACHE_L1_STALENESS_MS: String(STALENESS_MS),
        // The member reads many times a second; the limiter is not what is tested here.
        RATE_LIMIT_MAX: '100000',
      });
      for (const migrate of ['true', 'false']) {
        const api = await startService({ ...stack.env, MIGRATE_ON_START: migrate }, 90_000);
        apis.push(api);
        await waitUntilReady(api.port, 60_000);
        clients.push(new HttpClient(api.port));
      }
    });
    after(async () => {
      for (const client of clients) client.close();
      for (const api of apis) api.kill();
      await stack?.close();
    });

    const nameThrough = async (client: HttpClient, member: Member) => {
      const res = await client.request('GET', `/api/v1/users/${member.id}`, {
        headers: bearer(member.token),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return dataOf<{ name: string }>(res).name;
    };
    const rename = async (client: HttpClient, member: Member, name: string) => {
      const res = await client.request('PATCH', `/api/v1/users/${member.id}`, {
        headers: bearer(member.token),
        body: { name },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    const ready = async (client: HttpClient) =>
      (await client.request('GET', '/health/ready')).status === 200;

    it('when a user is edited while Redis is down, then no process serves the old row, during the outage or after Redis returns', async (t: TestContext) => {
      const [a, b] = clients as [HttpClient, HttpClient];
      const member = await signUp(a);
      await rename(a, member, 'Before');
      // Both processes hold the row in process.
      for (const client of [a, b, a, b]) assert.equal(await nameThrough(client, member), 'Before');

      await stack.redis.stop();
      await eventually(async () => !(await ready(a)) && !(await ready(b)), {
        what: 'both processes see Redis gone',
      });
      await rename(a, member, 'During');
      for (const client of [b, a]) {
        assert.equal(await nameThrough(client, member), 'During', 'L1 dropped in the outage');
      }

      await stack.redis.start();
      const upAt = Date.now();
      // From now until well after both are back: every read is the edited row.
      const seen = new Set<string>();
      let reads = 0;
      while (!((await ready(a)) && (await ready(b))) || Date.now() - upAt < 6_000) {
        for (const client of [a, b]) seen.add(await nameThrough(client, member));
        reads += 2;
        await sleep(50);
      }
      t.diagnostic(`${reads} reads over ${Date.now() - upAt} ms after Redis returned`);
      assert.deepEqual([...seen], ['During'], 'never the row from before the outage');

      // The level works again: a write through one is seen through the other after the bound.
      await rename(b, member, 'After');
      await sleep(STALENESS_MS);
      for (const client of [a, b]) assert.equal(await nameThrough(client, member), 'After');
    });
  },
);
