import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Database } from '../../src/platform/db/database.js';
import type { MailMessage, Mailer } from '../../src/platform/mail/mailer.js';

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
