import type { Database } from '../db/database.js';
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
