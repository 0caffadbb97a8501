import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { adapters } from '../../src/composition/dependencies.js';
import { buildWorker } from '../../src/composition/worker.js';
import { loadConfig } from '../../src/config.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { createPostgres } from '../../src/platform/db/postgres.js';
import { startApp, TEST_JWT_SECRET } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { engines, postgresSkip } from '../support/databases.js';
import { outboxRowsFor, outboxSettled, queueIdle, register } from '../support/jobs.js';
import { eventually } from '../support/time.js';
import {
  deleteQueueKeys,
  openQueueRedis,
  startRedisProxy,
  uniqueQueuePrefix,
} from '../support/queues.js';
import { onCluster, redisSkip, testQueueRedisEnv } from '../support/redis.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';
import { spawnWorker } from '../support/worker-process.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';

/*
 * The production path on real servers: registration → outbox → relay → BullMQ (Redis) →
 * worker → SMTP (smtp-server in this process). Every suite run has its own queue prefix.
 */

const engine = engines.find((e) => e.name === 'postgres')!;
const skip = postgresSkip ?? redisSkip;

describe('jobs through BullMQ (PostgreSQL, Redis, SMTP)', { skip, timeout: 120_000 }, () => {
  const prefix = uniqueQueuePrefix();
  let scratch: ScratchDatabase;
  let database: DatabaseHandle;
  let smtp: TestSmtpServer;
  let env: Record<string, string>;
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    scratch = await createScratchDatabase();
    database = createPostgres({
      url: scratch.url,
      poolMax: 10,
      idleTimeoutMs: 10_000,
      connectTimeoutMs: 2_000,
      statementTimeoutMs: 15_000,
    });
    await migrate(database.db);
    smtp = await startSmtpServer();
    env = {
      QUEUE_PREFIX: prefix,
      SMTP_URL: smtp.url,
      OUTBOX_POLL_MS: '50',
      JOB_ATTEMPTS: '3',
      JOB_BACKOFF_MS: '100',
      WORKER_LOCK_DURATION_MS: '1000',
      WORKER_STALLED_INTERVAL_MS: '300',
      WORKER_STUCK_AFTER_MS: '300',
    };
  });
  // Each test's API and workers stop with it: another test's relay must not take its rows.
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(async () => {
    await database?.close();
    await smtp?.close();
    await scratch?.drop();
    await deleteQueueKeys(prefix);
  });

  async function api(queueRedisUrl?: string) {
    const queueRedis = openQueueRedis(queueRedisUrl);
    const app = await startApp(engine, { database, queueRedis, env });
    const close = async () => {
      await app.close();
      queueRedis.disconnect();
    };
    closers.push(close);
    return { app, queueRedis, close };
  }

  function worker(extra: Record<string, string> = {}) {
    const queueRedis = openQueueRedis();
    const config = loadConfig({
      ...env,
      ...extra,
      LOG_LEVEL: 'silent',
      JWT_SECRET: TEST_JWT_SECRET,
    });
    const started = buildWorker(config, adapters(database, undefined, config, { queueRedis }));
    const close = async () => {
      await started.close();
      queueRedis.disconnect();
    };
    closers.push(close);
    return { ...started, close };
  }

  const mailsTo = (email: string) => smtp.messages.filter((m) => m.to === email);
  const sentRow = async (email: string) =>
    (await outboxRowsFor(database.db, email)).find((r) => r.sent_at) ?? false;

  it('when users register, then each welcome email arrives exactly once over SMTP', async () => {
    const { app } = await api();
    worker();
    const emails = await Promise.all([1, 2, 3].map(async () => (await register(app.server)).email));
    for (const email of emails) {
      await eventually(() => mailsTo(email).length === 1, { what: `the email to ${email}` });
    }
    // Quiescent: every row relayed and nothing left in the queue, so no second email can come.
    for (const email of emails) await outboxSettled(database.db, email);
    await queueIdle(app.jobs.queues!.get('email')!);
    for (const email of emails) {
      assert.equal(mailsTo(email).length, 1);
      const row = (await outboxRowsFor(database.db, email))[0]!;
      assert.ok(row.sent_at);
      assert.equal(mailsTo(email)[0]!.messageId, `<${row.id}@stratum.local>`);
      const job = await app.jobs.queues!.get('email')!.getJob(row.id);
      assert.equal(job?.name, 'email.welcome');
      assert.equal(job?.opts.attempts, 3);
      assert.deepEqual(job?.opts.backoff, { type: 'exponential', delay: 100 });
      assert.equal(await job?.getState(), 'completed');
    }
  });

  it('when a row is relayed again, then it is not a second job nor a second email', async () => {
    const { app } = await api();
    worker();
    const { email } = await register(app.server);
    await eventually(() => mailsTo(email).length === 1, { what: 'the welcome email' });
    const row = await eventually(() => sentRow(email), { what: 'the row marked sent' });
    const queue = app.jobs.queues!.get('email')!;
    // The email leaves before the job is marked completed: count once it is.
    await eventually(async () => (await (await queue.getJob(row.id))?.getState()) === 'completed', {
      what: 'the job completed',
    });
    const before = await queue.getJobCounts('completed', 'wait', 'active', 'failed');
    await database.db
      .updateTable('outbox')
      .set({ sent_at: null, available_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .execute();
    app.jobs.drainer.nudge();
    await eventually(() => sentRow(email), { what: 'the second relay' });
    await queueIdle(queue);
    assert.deepEqual(await queue.getJobCounts('completed', 'wait', 'active', 'failed'), before);
    assert.equal(mailsTo(email).length, 1);
  });

  // A proxy stands for one server; a cluster client follows the nodes' own addresses.
  if (!onCluster) {
    it('when Redis is unreachable at commit, then the email arrives after Redis returns', async () => {
      const proxy = await startRedisProxy();
      closers.push(() => proxy.close());
      const { app, queueRedis } = await api(proxy.url);
      await eventually(() => queueRedis.status === 'ready', { what: 'the queue connection' });
      await proxy.down();
      await eventually(() => queueRedis.status !== 'ready', {
        what: 'the queue connection dropping',
      });
      const { res, email } = await register(app.server);
      assert.equal(res.statusCode, 201, 'registration does not need Redis');
      // The relay claims nothing while its connection is not ready: the row can only wait.
      assert.notEqual(queueRedis.status, 'ready');
      const [waiting] = await outboxRowsFor(database.db, email);
      assert.equal(waiting!.sent_at, null, 'the row waits in the outbox');
      // Only now a worker (its own relay included) exists, on Redis directly.
      await proxy.up();
      worker();
      await eventually(() => mailsTo(email).length === 1, {
        what: 'the delayed email',
        timeoutMs: 15_000,
      });
      await outboxSettled(database.db, email);
      await queueIdle(app.jobs.queues!.get('email')!);
      assert.equal(mailsTo(email).length, 1);
    });
  }

  it('when a worker is killed mid-job, then another finishes it and one email arrives', async () => {
    const { app } = await api();
    const child = spawnWorker({
      ...env,
      DATABASE_URL: scratch.url,
      ...testQueueRedisEnv(),
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
    });
    closers.push(async () => child.signal('SIGKILL'));
    await child.waitForLog(/worker started/);
    const held = smtp.holdNext();
    const { email } = await register(app.server);
    await held;
    child.signal('SIGKILL');
    assert.equal((await child.exited).signal, 'SIGKILL');
    smtp.releaseHeld();
    assert.equal(mailsTo(email).length, 0, 'nothing was delivered by the killed worker');
    worker();
    await eventually(() => mailsTo(email).length === 1, {
      what: 'the email after the stall',
      timeoutMs: 15_000,
    });
    await outboxSettled(database.db, email);
    await queueIdle(app.jobs.queues!.get('email')!, 15_000);
    assert.equal(mailsTo(email).length, 1);
  });

  it('when a worker gets SIGTERM mid-job, then it finishes the job and exits 0', async () => {
    const { app } = await api();
    const child = spawnWorker({
      ...env,
      DATABASE_URL: scratch.url,
      ...testQueueRedisEnv(),
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      WORKER_SHUTDOWN_TIMEOUT_MS: '10000',
      WORKER_LOCK_DURATION_MS: '30000',
    });
    closers.push(async () => child.signal('SIGKILL'));
    await child.waitForLog(/worker started/);
    smtp.delayEach(700);
    try {
      const seen = smtp.mailFromCount();
      const { email } = await register(app.server);
      await eventually(() => smtp.mailFromCount() > seen, { what: 'the worker sending' });
      child.signal('SIGTERM');
      const exit = await child.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, child.output());
      assert.equal(mailsTo(email).length, 1, 'the active job finished before the exit');
    } finally {
      smtp.delayEach(0);
    }
  });

  it('when every attempt fails, then the job stays failed and the dashboard retries it', async () => {
    const { app } = await api();
    worker();
    const admin = await createUserAndLogin(app.server, app.services, 'admin');
    smtp.refuse(true);
    let email: string;
    try {
      email = (await register(app.server)).email;
      const row = (await outboxRowsFor(database.db, email))[0]!;
      const queue = app.jobs.queues!.get('email')!;
      // The state first, then the job: read the other way round, the job could be the one of
      // the attempt before the last, fetched just before that attempt failed for good.
      const job = await eventually(
        async () => {
          if ((await queue.getJobState(row.id)) !== 'failed') return false;
          return (await queue.getJob(row.id)) ?? false;
        },
        { what: 'the dead letter' },
      );
      assert.equal(job.attemptsMade, 3);
      assert.match(job.failedReason, /try again later/);
    } finally {
      smtp.refuse(false);
    }
    const row = (await outboxRowsFor(database.db, email))[0]!;
    const res = await app.server.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/email/${row.id}/retry`,
      headers: bearer(admin.accessToken),
    });
    assert.equal(res.statusCode, 204, res.body);
    await eventually(() => mailsTo(email).length === 1, { what: 'the retried email' });
  });

  it('when jobs wait and the worker makes no progress, then its readiness is 503', async () => {
    const { app } = await api();
    const running = worker({ WORKER_CONCURRENCY: '1' });
    await running.server.ready();
    const ready = async () =>
      (await running.server.inject({ method: 'GET', url: '/health/ready' })).statusCode;
    assert.equal(await ready(), 200, 'nothing waiting');
    // One job hangs in the SMTP conversation, the next waits behind it.
    const held = smtp.holdNext();
    const first = await register(app.server);
    await held;
    const second = await register(app.server);
    await eventually(() => sentRow(second.email), { what: 'the second job in the queue' });
    await eventually(async () => (await ready()) === 503, {
      what: 'readiness 503',
      timeoutMs: 5_000,
    });
    smtp.releaseHeld();
    await eventually(
      () => mailsTo(first.email).length === 1 && mailsTo(second.email).length === 1,
      { what: 'both emails once the worker moves again' },
    );
    assert.equal(await ready(), 200);
  });
});
