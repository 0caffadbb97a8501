import { randomUUID } from 'node:crypto';
import { adapters } from '../../src/composition/dependencies.js';
import { buildServices } from '../../src/composition/services.js';
import { buildWorker } from '../../src/composition/worker.js';
import { loadConfig } from '../../src/config.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { withTransaction } from '../../src/platform/db/transaction.js';
import { connectRedis } from '../../src/platform/redis/connect.js';
import type { Mailer } from '../../src/platform/mail/mailer.js';

/**
 * Welcome emails per second through one worker with a no-op transport: outbox rows written
 * first, then one worker (relay → BullMQ → handler → once-per-job delivery record) drains them.
 * Everything but the SMTP conversation is real, so this is the job pipeline's own ceiling.
 */

export interface EmailThroughput {
  emails: number;
  seconds: number;
  perSecond: number;
  concurrency: number;
}

const BATCH = 500;

type Scheduler = ReturnType<typeof buildServices>['jobs'];

async function fillOutbox(database: DatabaseHandle, jobs: Scheduler, count: number) {
  for (let done = 0; done < count; done += BATCH) {
    await withTransaction(database.db, async (tx) => {
      for (let i = done; i < Math.min(done + BATCH, count); i++) {
        const userId = randomUUID();
        const email = `bench-${userId}@example.com`;
        await jobs.schedule(tx, 'email.welcome', { userId, email, name: `Bench ${i}` });
      }
    });
  }
}

export async function measureEmailThroughput(
  database: DatabaseHandle,
  redisUrl: string,
  emails: number,
  concurrency: number,
): Promise<EmailThroughput> {
  const config = loadConfig({
    LOG_LEVEL: 'warn',
    JWT_SECRET: randomUUID() + randomUUID(),
    QUEUE_PREFIX: `bench-${randomUUID()}`,
    WORKER_CONCURRENCY: String(concurrency),
    OUTBOX_POLL_MS: '20',
  });
  const queueRedis = connectRedis({ kind: 'single', url: redisUrl }, 'queue', {
    connectTimeoutMs: 2_000,
  });
  let sent = 0;
  const noop: Mailer = {
    async send(message) {
      sent++;
      return { messageId: message.messageId ?? randomUUID() };
    },
  };
  const deps = adapters(database, undefined, config, { queueRedis });
  try {
    // The rows wait in the outbox before the worker starts, so the clock covers draining only.
    await fillOutbox(database, buildServices(config, deps).jobs, emails);
    const started = performance.now();
    const worker = buildWorker(config, deps, { mailer: noop });
    const deadline = Date.now() + 120_000;
    while (sent < emails) {
      if (Date.now() > deadline) throw new Error(`only ${sent} of ${emails} emails in 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    await worker.close();
    return { emails, seconds, perSecond: emails / seconds, concurrency };
  } finally {
    queueRedis.disconnect();
  }
}
