import type { JobDefinition } from '../../platform/jobs/job.js';
import type { OnceMailer } from '../../platform/mail/deliveries.js';
import type { JobTools } from '../module.js';
import { accountEmailJobs } from './account-emails.jobs.js';
import type { AccountEmailJobPayloads } from './account-emails.jobs.js';
import { welcomeEmail, type WelcomeEmailPayload } from './welcome-email.js';

/** The users module's jobs and their payloads. */
export interface UsersJobPayloads extends AccountEmailJobPayloads {
  'email.welcome': WelcomeEmailPayload;
}

/**
 * The welcome email carries the verification link (one email at sign-up, not two): its job
 * issues the token as it sends, and leaves the link out once the address is verified.
 */
export function usersJobs(mail: OnceMailer, { accountLinks }: JobTools) {
  const welcome: JobDefinition<'email.welcome', WelcomeEmailPayload> = {
    type: 'email.welcome',
    queue: 'email',
    async handle(payload, { jobId, log }) {
      const link = await accountLinks.issue('verify-email', payload.userId, payload.email);
      const sent = await mail.sendOnce(jobId, welcomeEmail(payload, link));
      if (!sent) log.info('welcome email was already sent; skipped');
    },
  };
  return [welcome, ...accountEmailJobs(mail, accountLinks)];
}
