import { ordersJobs, type OrdersJobPayloads } from './modules/orders/orders.jobs.js';
import { usersJobs, type UsersJobPayloads } from './modules/users/users.jobs.js';
import type { OnceMailer } from './platform/mail/deliveries.js';

/**
 * Every job type and its payload, in one place. The registry checks at start-up that each has
 * exactly one handler.
 */
export type JobPayloads = UsersJobPayloads & OrdersJobPayloads;

export const JOB_TYPES = [
  'email.welcome',
  'email.order-confirmation',
] as const satisfies readonly (keyof JobPayloads)[];

// Fails to compile when a payload type is missing from JOB_TYPES.
type Missing = Exclude<keyof JobPayloads, (typeof JOB_TYPES)[number]>;
const complete: Missing extends never ? true : never = true;
void complete;

/** Every module's job handlers, as the registry gets them. */
export function jobHandlers(mail: OnceMailer) {
  return [...usersJobs(mail), ...ordersJobs(mail)];
}
