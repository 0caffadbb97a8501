import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import { deleteBatch, olderThan } from '../db/delete-batch.js';
import type { MailMessage, Mailer } from './mailer.js';

/**
 * Sends each job's email at most once as far as the transport allows: the delivery is recorded
 * under the job id after the transport accepted it, and a retry or duplicate of the job finds
 * the record and stops. The bound: a crash (or a lost database) between the SMTP server's
 * acceptance and the record sends the email again on the retry — at-least-once, with the same
 * Message-ID, so receiving systems can tell the copy.
 */
export class OnceMailer {
  constructor(
    private readonly db: Database,
    private readonly mailer: Mailer,
    private readonly messageIdDomain: string,
  ) {}

  messageIdFor(deliveryId: string) {
    return `<${deliveryId}@${this.messageIdDomain}>`;
  }

  /** Returns false when this delivery was already sent. */
  async sendOnce(deliveryId: string, message: Omit<MailMessage, 'messageId'>): Promise<boolean> {
    const sent = await this.db
      .selectFrom('deliveries')
      .select('id')
      .where('id', '=', deliveryId)
      .executeTakeFirst();
    if (sent) return false;
    const messageId = this.messageIdFor(deliveryId);
    await this.mailer.send({ ...message, messageId });
    await this.db
      .insertInto('deliveries')
      .values({ id: deliveryId, message_id: messageId, recipient: message.to })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return true;
  }
}

/**
 * Deletes up to `limit` delivery records older than `retentionMs`. A record must outlive every
 * run of its job (see DELIVERY_RETENTION_MS), and one whose outbox row is still pending is kept
 * whatever its age: the relay may yet enqueue that row again. The record's id is the job's,
 * which is the outbox row's.
 */
export function pruneDeliveries(db: Database, retentionMs: number, limit: number) {
  const expired = sql<boolean>`${olderThan(sql.ref('created_at'), retentionMs)}
    and not exists (
      select 1 from outbox
       where outbox.id = deliveries.id and outbox.sent_at is null and outbox.failed_at is null)`;
  return deleteBatch(db, 'deliveries', 'id', expired, limit);
}
