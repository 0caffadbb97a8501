import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { connectRedis } from '../../src/composition/dependencies.js';
import {
  RedisRevocationList,
  type RevocationAuthority,
} from '../../src/platform/auth/revocations.js';
import { eventually } from '../support/time.js';
import { startRedisProxy } from '../support/queues.js';
import { openRedis, redisSkip, TEST_REDIS_URL } from '../support/redis.js';

const OPTIONS = { heartbeatMs: 50, staleAfterMs: 300, settleMs: 300 };
const MINUTE = 60_000;

describe('Redis deny list with a local mirror', { skip: redisSkip }, () => {
  // A key of its own, so other suites' revocations don't mingle with this one's.
  const key = `stratum:test:deny:${randomUUID()}`;
  const connections: { disconnect(): void }[] = [];
  const open = (url = TEST_REDIS_URL) => {
    const redis =
      url === TEST_REDIS_URL
        ? openRedis()
        : connectRedis({ kind: 'single', url }, 'fail-fast', {
            connectTimeoutMs: 500,
            commandTimeoutMs: 500,
          });
    connections.push(redis);
    return redis;
  };
  const lists: RedisRevocationList[] = [];
  const list = (url?: string) => {
    const created = new RedisRevocationList(open(url), OPTIONS, key);
    lists.push(created);
    return created;
  };
  /** A list whose mirror is running and current, on a connection of its own. */
  const mirrored = async (url?: string) => {
    const created = list(url);
    created.start();
    await eventually(() => created.mirrorIsCurrent(), {
      what: 'the mirror current',
      timeoutMs: 2000,
    });
    return created;
  };
  after(async () => {
    await Promise.all(lists.map((l) => l.stop()));
    for (const c of connections) c.disconnect();
  });

  it('when the mirror is current, then a revocation elsewhere reaches it within the bound', async () => {
    const revoker = list();
    const checker = await mirrored();
    const jti = randomUUID();
    assert.equal(await checker.isRevoked(jti, randomUUID()), false);

    await revoker.revoke('jti', jti, MINUTE);
    const revokedAt = performance.now();
    await eventually(() => checker.isRevoked(jti, randomUUID()), {
      what: 'the refusal',
      timeoutMs: OPTIONS.staleAfterMs,
    });
    assert.ok(performance.now() - revokedAt <= OPTIONS.staleAfterMs);
  });

  it('when the mirror is not running, then each check asks Redis', async () => {
    const revoker = list();
    const checker = list();
    const sid = randomUUID();
    await revoker.revoke('sid', sid, MINUTE);
    assert.equal(checker.mirrorIsCurrent(), false);
    assert.equal(await checker.isRevoked(randomUUID(), sid), true);
  });

  it('when an entry outlives its ttl, then it no longer denies', async () => {
    const revoker = list();
    const checker = await mirrored();
    const jti = randomUUID();
    await revoker.revoke('jti', jti, 150);
    await eventually(() => checker.isRevoked(jti, 'x'), {
      what: 'the refusal',
      timeoutMs: OPTIONS.staleAfterMs,
    });
    await eventually(async () => !(await checker.isRevoked(jti, 'x')), {
      what: 'the expiry',
      timeoutMs: 1000,
    });
    assert.equal(await revoker.isRevoked(jti, 'x'), false);
  });

  it('when the subscription drops and returns, then revocations made meanwhile are loaded', async () => {
    const proxy = await startRedisProxy();
    try {
      const revoker = list();
      const checker = await mirrored(proxy.url);

      await proxy.down();
      await eventually(() => !checker.mirrorIsCurrent(), {
        what: 'the mirror distrusted',
        timeoutMs: 1000,
      });
      const jti = randomUUID();
      await revoker.revoke('jti', jti, MINUTE);
      await proxy.up();

      await eventually(() => checker.mirrorIsCurrent(), { what: 'the resync', timeoutMs: 5000 });
      assert.equal(await checker.isRevoked(jti, randomUUID()), true);
    } finally {
      await proxy.close();
    }
  });

  it('when the main connection closes (a failover), then the mirror is not trusted and a "not revoked" asks the authority until the reload wrote it back', async () => {
    // A session ended through a process whose revocation never reached Redis (its master was
    // going away): only the authority knows.
    const sid = randomUUID();
    const database: { ended?: string } = {};
    const authority: RevocationAuthority = {
      recentlyEnded: async () => (database.ended ? [{ id: database.ended, endedAgoMs: 0 }] : []),
      hasEnded: async (id) => id === database.ended,
    };
    const redis = open();
    const checker = new RedisRevocationList(redis, OPTIONS, `${key}:failover`, {
      sessions: authority,
      denyForMs: MINUTE,
    });
    lists.push(checker);
    await checker.revoke('jti', randomUUID(), MINUTE); // the connection is up
    checker.start();
    await eventually(() => checker.mirrorIsCurrent(), {
      what: 'the mirror current',
      timeoutMs: 2000,
    });

    database.ended = sid;
    assert.equal(await checker.isRevoked(randomUUID(), sid), false, 'the mirror alone answers');

    // Only the main connection goes (the subscriber's server still answers its PINGs).
    redis.disconnect(true);
    await eventually(() => checker.isRevoked(randomUUID(), sid), {
      what: 'the refusal',
      timeoutMs: 5000,
    });
    await eventually(() => checker.mirrorIsCurrent(), { what: 'the reload', timeoutMs: 5000 });
    assert.equal(await checker.isRevoked(randomUUID(), sid), true, 'written back by the reload');
  });

  it('when Redis is unreachable, then a process still refuses what it revoked itself', async () => {
    const lonely = list('redis://127.0.0.1:1');
    lonely.start();
    const jti = randomUUID();
    await lonely.revoke('jti', jti, MINUTE);
    assert.equal(await lonely.isRevoked(jti, randomUUID()), true);
    assert.equal(await lonely.isRevoked(randomUUID(), randomUUID()), false);
  });
});
