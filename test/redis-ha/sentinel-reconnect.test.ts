import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { connectRedis, type ConnectionRole } from '../../src/platform/redis/connect.js';
import {
  redisTopologySkip,
  startSentinelSetup,
  type SentinelSetup,
} from '../support/redis-topologies.js';
import { eventually } from '../support/time.js';

/*
 * Behind Sentinel, ioredis' failover detector tells the connector to disconnect when a
 * +switch-master notice arrives. When that notice lands while the connection is reconnecting
 * (its master just died), ioredis ends the connection for good ("Connection is closed."). The
 * notice's timing is up to the sentinels, so the test gives the connector the same call at that
 * moment, as the detector does: every connection the service opens comes back by itself.
 */

describe(
  'a Sentinel connection told to disconnect while it reconnects',
  { skip: redisTopologySkip() },
  () => {
    let setup: SentinelSetup;
    before(async () => {
      setup = await startSentinelSetup();
    });
    after(async () => {
      await setup?.close();
    });

    for (const role of ['fail-fast', 'queue'] as ConnectionRole[]) {
      it(`when it is a ${role} connection, then it is back on the master and answers`, async () => {
        const client = connectRedis(
          { kind: 'sentinel', sentinels: setup.sentinels, master: setup.master },
          role,
          { connectTimeoutMs: 5_000 },
        ) as Redis;
        try {
          if (client.status !== 'ready') await once(client, 'ready');
          const inside = client as unknown as {
            connector: { disconnect(): void };
            stream: { destroy(): void };
          };
          // events.once would reject on the 'error' the ending emits.
          const ended = new Promise((resolve) => client.once('end', resolve));
          client.once('connecting', () => inside.connector.disconnect());
          inside.stream.destroy();
          await ended;
          await eventually(async () => assert.equal(await client.set('k', 'v'), 'OK'), {
            timeoutMs: 15_000,
            what: 'a write on the master',
          });
        } finally {
          client.disconnect();
        }
      });
    }
  },
);
