import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { createPostgres } from '../../src/platform/db/postgres.js';
import { queueKeyPrefix } from '../../src/platform/jobs/bullmq.js';
import { postgresSkip } from '../support/databases.js';
import { eventually, sleep } from '../support/time.js';
import { assertLedgerInvariants } from '../support/ledger.js';
import { outboxSettled, queueIdle } from '../support/jobs.js';
import { deleteQueueKeys, openQueueRedis, uniqueQueuePrefix } from '../support/queues.js';
import { redisSkip, TEST_REDIS_URL } from '../support/redis.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN = { email: 'cluster-admin@example.com', password: 'cluster admin password' };
const RATE_LIMIT = 200;
/** CACHE_L1_STALENESS_MS of the processes: how long after a write another may serve the old row. */
const STALENESS_MS = 150;

/** A base port with `count` free ports after it (the cluster takes consecutive ports). */
async function freePorts(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (;;) {
    const base = randomInt(20_000, 50_000);
    const checks = await Promise.all(Array.from({ length: count }, (_, i) => free(base + i)));
    if (checks.every(Boolean)) return base;
  }
}

interface Reply {
  status: number;
  body: { data?: Record<string, unknown> & { id?: string }; error?: { code: string } };
}

describe(
  'three API processes and two workers on one PostgreSQL and one Redis',
  { skip: postgresSkip ?? redisSkip },
  () => {
    let scratch: ScratchDatabase;
    let smtp: TestSmtpServer;
    let cluster: ChildProcess;
    let ports: number[];
    const prefix = uniqueQueuePrefix();
    const suiteAddress = `10.${randomInt(256)}.${randomInt(256)}.${1 + randomInt(254)}`;
    let admin: string;

    async function call(
      port: number,
      method: string,
      path: string,
      token?: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Reply> {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: {
          // A guest's requests are counted per address: this suite's own address, so other
          // suites' requests from 127.0.0.1 on the same Redis don't spend its budget.
          'x-forwarded-for': suiteAddress,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      // Only the rate-limit case expects 429s; any other one is worth its headers in the log.
      if (res.status === 429 && path !== '/api/v1/users/me') {
        process.stderr.write(
          `unexpected 429 on ${method} ${path}: ${JSON.stringify([...res.headers])}\n`,
        );
      }
      return { status: res.status, body: text ? (JSON.parse(text) as Reply['body']) : {} };
    }

    async function login(port: number, email: string, password: string): Promise<string> {
      const res = await call(port, 'POST', '/api/v1/auth/login', undefined, { email, password });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.data!.accessToken as string;
    }

    /** Registers through `port`, logs in, returns the user's id, token and wallet. */
    async function newUser(port: number) {
      const email = `c-${randomUUID()}@example.com`;
      const password = 'cluster user password';
      const created = await call(port, 'POST', '/api/v1/auth/register', undefined, {
        name: 'Member',
        email,
        password,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.data!.id!;
      const token = await login(port, email, password);
      const accounts = await call(port, 'GET', `/api/v1/users/${id}/accounts`, token);
      const wallet = (accounts.body.data as unknown as { id: string }[])[0]!.id;
      return { id, email, token, wallet };
    }

    before(async () => {
      scratch = await createScratchDatabase();
      smtp = await startSmtpServer();
      const base = await freePorts(3);
      ports = [base, base + 1, base + 2];
      cluster = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/cluster.ts',
          '--api',
          '3',
          '--workers',
          '2',
          '--port',
          String(base),
        ],
        {
          cwd: projectRoot,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NODE_ENV: 'test',
            LOG_LEVEL: 'warn',
            DATABASE_URL: scratch.url,
            REDIS_URL: TEST_REDIS_URL,
            QUEUE_PREFIX: prefix,
            SMTP_URL: smtp.url,
            JWT_SECRET: 'cluster-test-secret-that-is-long-enough',
            ADMIN_EMAIL: ADMIN.email,
            ADMIN_PASSWORD: ADMIN.password,
            RATE_LIMIT_MAX: String(RATE_LIMIT),
            // Guests are limited per address: each test guest says it is another one, so suites
            // sharing this Redis (and its per-address counters for 127.0.0.1) don't interfere.
            TRUST_PROXY: 'true',
            OUTBOX_POLL_MS: '200',
            CACHE_L1_STALENESS_MS: String(STALENESS_MS),
            // Members register and move money at once; email verification has its own suite.
            REQUIRE_VERIFIED_EMAIL: 'false',
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      for (const port of ports) {
        await eventually(
          async () =>
            (await call(port, 'GET', '/health/ready').catch(() => ({ status: 0 }))).status === 200,
          { what: `API on ${port}`, timeoutMs: 240_000 },
        );
      }
      admin = await login(ports[0]!, ADMIN.email, ADMIN.password);
    });

    after(async () => {
      if (cluster.exitCode === null) {
        const exited = once(cluster, 'exit');
        cluster.kill('SIGTERM');
        const [code] = (await exited) as [number | null];
        assert.equal(code, 0, 'the cluster stops cleanly');
      }
      await smtp.close();
      await scratch.drop();
      await deleteQueueKeys(prefix);
    });

    it('when one user spreads requests over the three processes, then the rate limit holds globally', async () => {
      const user = await newUser(ports[1]!);
      const statuses: number[] = [];
      for (let i = 0; i < RATE_LIMIT + 30; i++) {
        statuses.push((await call(ports[i % 3]!, 'GET', '/api/v1/users/me', user.token)).status);
      }
      const served = statuses.filter((s) => s === 200).length;
      // Logging in and reading the wallet counted too (they ran under the user's key or address).
      assert.ok(
        served <= RATE_LIMIT && served >= RATE_LIMIT - 2,
        `served ${served} of ${statuses.length}`,
      );
      assert.equal(statuses.filter((s) => s === 429).length, statuses.length - served);
    });

    /** Hits every API process served from its in-process cache level, from its /metrics. */
    async function inProcessHits(): Promise<number> {
      let total = 0;
      for (const port of ports) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        for (const line of text.split('\n')) {
          if (line.startsWith('stratum_cache_l1_hits_total{'))
            total += Number(line.split(' ').at(-1));
        }
      }
      return total;
    }

    it('when a user is written through one process, then no process serves the old row once the staleness bound has passed', async () => {
      const user = await newUser(ports[0]!);
      const hitsBefore = await inProcessHits();
      // Nine rounds of eleven requests: well inside the admin's RATE_LIMIT.
      for (let i = 0; i < 9; i++) {
        // Every process holds the row in process: the second read of each is an L1 hit.
        for (const reader of [...ports, ...ports]) {
          assert.equal((await call(reader, 'GET', `/api/v1/users/${user.id}`, admin)).status, 200);
        }
        const writer = ports[i % 3]!;
        const name = `Name ${i}`;
        assert.equal(
          (await call(writer, 'PATCH', `/api/v1/users/${user.id}`, admin, { name })).status,
          200,
        );
        // The writer itself never reads its write stale; the others may until the bound.
        const own = await call(writer, 'GET', `/api/v1/users/${user.id}`, admin);
        assert.equal(own.body.data?.name, name, `read through the writer ${writer}`);
        await sleep(STALENESS_MS);
        for (const reader of ports) {
          const read = await call(reader, 'GET', `/api/v1/users/${user.id}`, admin);
          assert.equal(
            read.body.data?.name,
            name,
            `read through ${reader} ${STALENESS_MS} ms after a write through ${writer}`,
          );
        }
      }
      assert.ok((await inProcessHits()) > hitsBefore, 'reads were served in process');
    });

    it('when users register through every process, then each welcome email is delivered exactly once', async () => {
      const emails: string[] = [];
      await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const email = `w-${randomUUID()}@example.com`;
          emails.push(email);
          const res = await call(
            ports[i % 3]!,
            'POST',
            '/api/v1/auth/register',
            undefined,
            { name: 'W', email, password: 'long enough pw' },
            { 'x-forwarded-for': `10.9.0.${i}` },
          );
          assert.equal(res.status, 201);
        }),
      );
      const delivered = (email: string) => smtp.messages.filter((m) => m.to.includes(email)).length;
      await eventually(() => emails.every((e) => delivered(e) >= 1), {
        what: 'every welcome email',
        timeoutMs: 30_000,
      });
      // Quiescent (every row relayed, no job queued or running): no second email can come now.
      const database = createPostgres({
        url: scratch.url,
        poolMax: 1,
        idleTimeoutMs: 1_000,
        connectTimeoutMs: 2_000,
        statementTimeoutMs: 10_000,
      });
      const connection = openQueueRedis();
      const queue = new Queue('email', { connection, prefix: queueKeyPrefix(prefix, 'email') });
      try {
        for (const email of emails) await outboxSettled(database.db, email, 30_000);
        await queueIdle(queue, 30_000);
      } finally {
        await queue.close();
        connection.disconnect();
        await database.close();
      }
      for (const email of emails) assert.equal(delivered(email), 1, email);
    });

    it('when transfers race through all three processes, then the ledger stays balanced', async () => {
      const people = await Promise.all(ports.map((port) => newUser(port)));
      for (const person of people) {
        const res = await call(
          ports[0]!,
          'POST',
          `/api/v1/accounts/${person.wallet}/deposits`,
          admin,
          { amount: 5_000, currency: 'USD' },
        );
        assert.equal(res.status, 201);
      }
      const results = await Promise.all(
        Array.from({ length: 45 }, (_, i) => {
          const from = people[i % 3]!;
          const to = people[(i + 1 + (i % 2)) % 3]!;
          return call(
            ports[(i + 2) % 3]!,
            'POST',
            '/api/v1/transfers',
            from.token,
            {
              fromAccountId: from.wallet,
              toAccountId: to.wallet,
              amount: 1 + (i % 400),
              currency: 'USD',
            },
            { 'idempotency-key': randomUUID() },
          );
        }),
      );
      for (const res of results)
        assert.ok([201, 422, 503].includes(res.status), JSON.stringify(res.body));
      assert.ok(results.filter((r) => r.status === 201).length > 30);
      const database = createPostgres({
        url: scratch.url,
        poolMax: 1,
        idleTimeoutMs: 1_000,
        connectTimeoutMs: 2_000,
        statementTimeoutMs: 10_000,
      });
      try {
        await assertLedgerInvariants(database.db);
      } finally {
        await database.close();
      }
    });
  },
);
