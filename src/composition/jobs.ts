import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { JOB_TYPES, type JobPayloads } from '../jobs.js';
import { HoldsRepository } from '../modules/accounts/holds.repository.js';
import type { AppModule } from '../modules/module.js';
import { WriteBehindFlusher } from '../platform/cache/write-behind.js';
import type { Database } from '../platform/db/database.js';
import { closeQueues, openQueues } from '../platform/jobs/bullmq.js';
import { createInProcessRunner } from '../platform/jobs/in-process-runner.js';
import type { RetryPolicy } from '../platform/jobs/job.js';
import { OutboxRepository } from '../platform/jobs/outbox.repository.js';
import type { OutboxScheduler } from '../platform/jobs/outbox.js';
import type { OutboxDrainer } from '../platform/jobs/poller.js';
import { Poller } from '../platform/jobs/poller.js';
import { Pruner } from '../platform/jobs/pruner.js';
import { JobRegistry } from '../platform/jobs/registry.js';
import { createOutboxRelay } from '../platform/jobs/relay.js';
import { OnceMailer } from '../platform/mail/deliveries.js';
import type { Mailer } from '../platform/mail/mailer.js';
import { fileMailer, smtpMailer } from '../platform/mail/nodemailer.js';
import type { Dependencies } from './dependencies.js';
import { accountLinks, retentionRules, type Services } from './services.js';

/** SMTP when SMTP_URL is set, else .eml files under DATA_DIR/mail. */
export function buildMailer(config: Config): Mailer {
  return config.smtpUrl
    ? smtpMailer(config.smtpUrl, config.mailFrom)
    : fileMailer(`${config.dataDir}/mail`, config.mailFrom);
}

export function retryPolicy(config: Config): RetryPolicy {
  return { attempts: config.jobAttempts, backoffMs: config.jobBackoffMs };
}

/**
 * The job registry (checked here: a missing or duplicate handler stops start-up) and what
 * drains the outbox: a relay to BullMQ when a queue Redis is configured, else the in-process
 * runner with the same handlers and retry policy.
 */
export interface JobsOptions {
  /** The modules whose job handlers the registry gets. */
  modules: readonly Pick<AppModule, 'jobs'>[];
  /** The API's scheduler: its commits wake the drainer at once. The worker schedules nothing. */
  scheduler?: OutboxScheduler<JobPayloads>;
  /** Replaces the configured mailer (tests count what would have been sent). */
  mailer?: Mailer;
}

export function buildJobs(
  config: Config,
  deps: Dependencies,
  log: FastifyBaseLogger,
  { modules, scheduler, mailer = buildMailer(config) }: JobsOptions,
) {
  const { db } = deps.database;
  const domain = /@([^>\s]+)/.exec(config.mailFrom)?.[1] ?? 'stratum.local';
  const mail = new OnceMailer(db, mailer, domain);
  const tools = { accountLinks: accountLinks(config, db) };
  const handlers = modules.flatMap((module) => module.jobs?.(mail, tools) ?? []);
  const registry = new JobRegistry(JOB_TYPES, handlers);
  const outbox = new OutboxRepository(db);
  const queues = deps.queueRedis
    ? openQueues(
        registry.queueNames(),
        {
          connection: deps.queueRedis,
          prefix: config.queuePrefix,
          retry: retryPolicy(config),
        },
        log,
      )
    : undefined;
  const drainer: OutboxDrainer =
    queues && deps.queueRedis
      ? createOutboxRelay(
          outbox,
          registry,
          queues,
          deps.queueRedis,
          // A queue that doesn't answer within 5 s is treated as down; rows wait 30 s per claim.
          {
            pollMs: config.outboxPollMs,
            batchSize: 100,
            leaseMs: 30_000,
            addTimeoutMs: 5_000,
            waitReplicas: config.queueRedisUrl ? 0 : config.redisWaitReplicas,
            waitTimeoutMs: config.redisWaitTimeoutMs,
          },
          log,
        )
      : createInProcessRunner(
          outbox,
          registry,
          {
            pollMs: config.outboxPollMs,
            concurrency: config.workerConcurrency,
            leaseMs: config.workerLockDurationMs,
            retry: retryPolicy(config),
          },
          log,
        );
  scheduler?.onCommitted(() => drainer.nudge());
  const pruner = buildPruner(config, db, log);
  const holdSweep = buildHoldSweep(config, db, log);
  return {
    registry,
    /** The outbox's rows, for the job dashboard and the metrics. */
    outbox,
    queues,
    drainer,
    pruner,
    holdSweep,
    start() {
      drainer.start();
      pruner.start();
      holdSweep.start();
    },
    async close() {
      await Promise.all([drainer.stop(), pruner.stop(), holdSweep.stop()]);
      if (queues) await closeQueues(queues);
    },
  };
}

/** Deletes finished bookkeeping rows past their retention; each rule says which rows. */
export function buildPruner(config: Config, db: Database, log: FastifyBaseLogger): Pruner {
  return new Pruner(
    retentionRules(config, db),
    { intervalMs: config.pruneIntervalMs, batchSize: config.pruneBatchSize },
    log,
  );
}

/** Holds released per statement of the expiry sweep. */
const HOLD_SWEEP_BATCH = 500;

/**
 * The expiry sweep of holds (docs/decisions/0011-holds.md): every HOLD_SWEEP_INTERVAL_MS, in
 * every API and worker process, pending holds past their expiry are marked expired and their
 * funds released, batch after batch while batches come back full. Holds another process's sweep
 * has locked are skipped, so running several is harmless.
 */
export function buildHoldSweep(config: Config, db: Database, log: FastifyBaseLogger): Poller {
  const holds = new HoldsRepository(db);
  const sweepOnce = async () => {
    const expired = await holds.expireDue(HOLD_SWEEP_BATCH);
    if (expired > 0) log.debug({ expired }, 'expired holds released');
    return expired >= HOLD_SWEEP_BATCH;
  };
  return new Poller(sweepOnce, config.holdSweepIntervalMs, log, 'hold expiry sweep');
}

export type Jobs = ReturnType<typeof buildJobs>;

/** Post views into the database (write-behind); flushes on its own and once more on close. */
export function startViewFlusher(
  config: Config,
  deps: Dependencies,
  services: Services,
  server: FastifyInstance,
) {
  const viewFlusher = new WriteBehindFlusher(
    deps.viewCounters,
    (batch) => services.posts.applyViews(batch),
    // A batch's transaction takes milliseconds; a flusher silent this long has died.
    { intervalMs: config.flushIntervalMs, leaseMs: 30_000, logger: server.log },
  );
  viewFlusher.start();
  // The last views go in on close, while the database is still open (main closes it after).
  server.addHook('onClose', async () => viewFlusher.stop());
  return viewFlusher;
}
