import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Database } from '../../src/platform/db/database.js';
import type { MailMessage, Mailer } from '../../src/platform/mail/mailer.js';
import { eventually } from './time.js';

/** A mailer at the edge: records every send; `failures` sends throw first. */
export class RecordingMailer implements Mailer {
  sent: MailMessage[] = [];
  attempts: number[] = [];
  constructor(public failures = 0) {}

  /** Forgets what was sent; the next `failures` sends throw. */
  reset(failures = 0) {
    this.sent = [];
    this.attempts = [];
    this.failures = failures;
  }

  async send(message: MailMessage) {
    this.attempts.push(Date.now());
    if (this.failures > 0) {
      this.failures--;
      throw new Error('SMTP said no');
    }
    this.sent.push(message);
    return { messageId: message.messageId ?? randomUUID() };
  }
}

export async function register(server: FastifyInstance, name = 'Ada') {
  const email = `reg-${randomUUID()}@example.com`;
  const res = await server.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { name, email, password: 'long enough pw' },
  });
  return { res, email };
}

/** The outbox rows of the welcome emails to `email`. */
export function outboxRowsFor(db: Database, email: string) {
  return db
    .selectFrom('outbox')
    .selectAll()
    .where(sql<string>`payload->>'email'`, '=', email)
    .orderBy('id')
    .execute();
}

/** The outbox rows whose payload mentions `needle` (an email address, an order id). */
export function outboxRowsMentioning(db: Database, needle: string) {
  return db
    .selectFrom('outbox')
    .selectAll()
    .where(sql<string>`payload::text`, 'like', `%${needle}%`)
    .orderBy('id')
    .execute();
}

/**
 * Waits until every outbox row mentioning `needle` is sent or dead, and resolves with them. A
 * row only runs while it is pending, so from then on none of them sends anything: a count taken
 * after this is final, with no sleep to prove that nothing more happens.
 */
export async function outboxSettled(db: Database, needle: string, timeoutMs = 10_000) {
  return eventually(
    async () => {
      const rows = await outboxRowsMentioning(db, needle);
      return rows.every((r) => r.sent_at || r.failed_at) && rows;
    },
    { what: `the outbox rows of ${needle} sent or dead`, timeoutMs },
  );
}

/**
 * Waits until the queue has no job waiting, delayed or running. With the outbox settled too
 * (outboxSettled), nothing is left that could send: counts taken after both are final.
 */
export async function queueIdle(queue: Queue, timeoutMs = 10_000) {
  await eventually(
    async () => {
      const counts = await queue.getJobCounts(
        'wait',
        'active',
        'delayed',
        'prioritized',
        'waiting-children',
      );
      const busy = Object.entries(counts).filter(([, n]) => n > 0);
      assert.deepEqual(busy, [], 'jobs still queued or running');
    },
    { what: `queue ${queue.name} idle`, timeoutMs },
  );
}
