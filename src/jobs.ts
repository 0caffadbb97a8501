import type { UsersJobPayloads } from './modules/users/users.jobs.js';

/**
 * Every job type and its payload, in one place. The registry checks at start-up that each has
 * exactly one handler. Orders add `email.order-confirmation` here with their module's jobs.
 */
export type JobPayloads = UsersJobPayloads;

export const JOB_TYPES = ['email.welcome'] as const satisfies readonly (keyof JobPayloads)[];

// Fails to compile when a payload type is missing from JOB_TYPES.
type Missing = Exclude<keyof JobPayloads, (typeof JOB_TYPES)[number]>;
const complete: Missing extends never ? true : never = true;
void complete;
