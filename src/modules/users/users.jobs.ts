import type { JobDefinition } from '../../platform/jobs/job.js';
import type { OnceMailer } from '../../platform/mail/deliveries.js';
import { welcomeEmail, type WelcomeEmailPayload } from './welcome-email.js';

/** The users module's jobs and their payloads. */
export interface UsersJobPayloads {
  'email.welcome': WelcomeEmailPayload;
}

export function usersJobs(mail: OnceMailer): [JobDefinition<'email.welcome', WelcomeEmailPayload>] {
  return [
    {
      type: 'email.welcome',
      queue: 'email',
      async handle(payload, { jobId, log }) {
        const sent = await mail.sendOnce(jobId, welcomeEmail(payload));
        if (!sent) log.info('welcome email was already sent; skipped');
      },
    },
  ];
}
