import type { OrdersJobPayloads } from './modules/orders/orders.jobs.js';
import type { UsersJobPayloads } from './modules/users/users.jobs.js';

/**
 * Every job type and its payload, in one place. The registry checks at start-up that each has
 * exactly one handler among the modules' (`jobs` in each *.module.ts).
 */
export type JobPayloads = UsersJobPayloads & OrdersJobPayloads;

export const JOB_TYPES = [
  'email.welcome',
  'email.order-confirmation',
  'email.verify',
  'email.password-reset',
  'email.change-confirm',
  'email.change-notice',
] as const satisfies readonly (keyof JobPayloads)[];

// Fails to compile when a payload type is missing from JOB_TYPES.
type Missing = Exclude<keyof JobPayloads, (typeof JOB_TYPES)[number]>;
const complete: Missing extends never ? true : never = true;
void complete;
