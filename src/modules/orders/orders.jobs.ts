import type { JobDefinition } from '../../platform/jobs/job.js';
import type { OnceMailer } from '../../platform/mail/deliveries.js';
import {
  orderConfirmationEmail,
  type OrderConfirmationPayload,
} from './order-confirmation-email.js';

/** The orders module's jobs and their payloads. */
export interface OrdersJobPayloads {
  'email.order-confirmation': OrderConfirmationPayload;
}

export function ordersJobs(
  mail: OnceMailer,
): [JobDefinition<'email.order-confirmation', OrderConfirmationPayload>] {
  return [
    {
      type: 'email.order-confirmation',
      queue: 'email',
      async handle(payload, { jobId, log }) {
        const sent = await mail.sendOnce(jobId, orderConfirmationEmail(payload));
        if (!sent) log.info('order confirmation was already sent; skipped');
      },
    },
  ];
}
