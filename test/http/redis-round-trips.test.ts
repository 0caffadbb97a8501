import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { RedisClient } from '../../src/platform/redis/connect.js';
import { connectRedis } from '../../src/composition/dependencies.js';
import { engines } from '../support/databases.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';
import { redisSkip, TEST_REDIS_URL } from '../support/redis.js';
import { eventually } from '../support/time.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const READS = 20;

/**
 * What one request costs in Redis, counted by the server itself (MONITOR), on the app's own
 * connection: the bound on round trips per request is asserted here, not assumed.
 */
describe('Redis commands per request', { skip: engine.skip ?? redisSkip }, () => {
  let app: StartedApp;
  let redis: RedisClient;
  let monitor: net.Socket | undefined;
  let user: TestUser;
  /** Every command the app's connection sends, as [command, first key]. */
  const seen: [string, string][] = [];

  before(async () => {
    redis = connectRedis({ kind: 'single', url: TEST_REDIS_URL }, 'fail-fast', {
      connectTimeoutMs: 5_000,
      commandTimeoutMs: 5_000,
    });
    app = await startApp(engine, { redis });
    user = await createUserAndLogin(app.server, app.services);
    const info = String(await redis.client('INFO'));
    const addr = /\baddr=(\S+)/.exec(info)![1]!;
    // MONITOR is a single server's: this suite runs on one. Read on a bare socket: ioredis'
    // monitor mode can take a line the server monitored before its own OK for a reply, and
    // throw ("Command queue state error") from its socket handler.
    monitor = await watchCommands(TEST_REDIS_URL, (source, args) => {
      if (!source.endsWith(addr)) return;
      const command = args[0]!.toLowerCase();
      // A script's first key follows its sha and key count.
      const key = command.startsWith('eval') ? args[3] : args[1];
      seen.push([command, key ?? '']);
    });
  });
  after(async () => {
    monitor?.destroy();
    await app?.close();
    redis?.disconnect();
  });

  it('when a signed-in caller reads a cached user, then the deny list costs no command and the limiter one', async (t: TestContext) => {
    const read = () =>
      app.server.inject({
        method: 'GET',
        url: `/api/v1/users/${user.id}`,
        headers: bearer(user.accessToken),
      });
    assert.equal((await read()).statusCode, 200, 'the warm-up read fills the cache');
    // MONITOR reports asynchronously: a marker command on the counted connection closes a run.
    const drain = async () => {
      const marker = `stratum:test:marker:${Math.random()}`;
      await redis.exists(marker);
      await eventually(() => seen.some(([, key]) => key === marker), {
        what: 'the marker seen',
        timeoutMs: 5_000,
      });
      return seen.splice(0).filter(([, key]) => key !== marker);
    };
    const isDenyList = ([, key]: [string, string]) => key.startsWith('stratum:v1:deny');
    // Until its first load completes, the mirror is not trusted and checks ask Redis.
    await eventually(async () => (await read(), !(await drain()).some(isDenyList)), {
      what: 'the deny-list mirror loaded',
      timeoutMs: 5_000,
    });
    // The L1 answers only while its subscriber has confirmed it current within the staleness
    // bound; on a loaded machine a heartbeat can miss that window, so a run is tried again.
    const readRun = async () => {
      for (let i = 0; i < READS; i++) assert.equal((await read()).statusCode, 200);
      return drain();
    };
    const isCounter = ([, key]: [string, string]) => key.startsWith('stratum:v1:rate-limit:');
    let run = await readRun();
    for (let attempt = 1; attempt < 5 && !run.every(isCounter); attempt++) run = await readRun();
    const tally = new Map<string, number>();
    for (const [command] of run) tally.set(command, (tally.get(command) ?? 0) + 1);
    t.diagnostic(`${READS} reads: ${[...tally].map(([c, n]) => `${n} ${c}`).join(', ')}`);

    const counter = run.filter(isCounter);
    const denyList = run.filter(isDenyList);
    const others = run.filter((c) => !counter.includes(c) && !denyList.includes(c));
    assert.equal(denyList.length, 0, 'the deny list answers from the mirror');
    assert.equal(counter.length, READS, 'one command for the rate-limit counter per request');
    assert.ok(
      counter.every(([command]) => command === 'evalsha'),
      'the counter is one script call (INCRBY and PEXPIRE together)',
    );
    // The cached copy is read from the in-process L1: the counter is the only round trip.
    assert.deepEqual(others, [], 'the user comes from the L1, with no Redis command');
  });
});

/**
 * Sends MONITOR on a socket of its own and hands each monitored command to `onCommand` as its
 * source address and its arguments. Resolves once the server has answered OK.
 */
function watchCommands(
  url: string,
  onCommand: (source: string, args: string[]) => void,
): Promise<net.Socket> {
  const { hostname, port, username, password } = new URL(url);
  const socket = net.connect(Number(port || 6379), hostname);
  // A socket left over by a failed run must not keep the test process alive.
  socket.unref();
  const auth = password
    ? `AUTH ${[username, password].filter(Boolean).map(decodeURIComponent).join(' ')}\r\n`
    : '';
  // MONITOR's OK is the last of the OKs asked for.
  let oks = auth ? 2 : 1;
  let buffered = '';
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.once('connect', () => socket.write(`${auth}MONITOR\r\n`));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\r\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('-')) reject(new Error(`MONITOR refused: ${line}`));
        if (line === '+OK' && --oks === 0) resolve(socket);
        // +1796633012.639310 [1 127.0.0.1:57996] "evalsha" "…" "1" "stratum:v1:…"
        const monitored = /^\+\d+\.\d+ \[\d+ (\S+)\] (.*)$/.exec(line);
        if (!monitored) continue;
        const args = [...monitored[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
        onCommand(monitored[1]!, args);
      }
    });
  });
}
