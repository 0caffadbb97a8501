import type { JobDefinition } from '../../platform/jobs/job.js';
import type { OnceMailer } from '../../platform/mail/deliveries.js';
import type { AccountLinks } from './account-links.js';
import {
  emailChangeConfirmation,
  emailChangeNotice,
  noAccountEmail,
  passwordResetEmail,
  verificationEmail,
} from './account-emails.mail.js';

export interface VerifyEmailPayload {
  userId: string;
  email: string;
  name: string;
}

/** One payload for a known and an unknown address: the request wrote the same row either way. */
export interface PasswordResetPayload {
  email: string;
  userId: string | null;
}

export interface EmailChangePayload {
  userId: string;
  oldEmail: string;
  newEmail: string;
  name: string;
}

/** The account emails' jobs and their payloads. */
export interface AccountEmailJobPayloads {
  'email.verify': VerifyEmailPayload;
  'email.password-reset': PasswordResetPayload;
  'email.change-confirm': EmailChangePayload;
  'email.change-notice': EmailChangePayload;
}

type Definitions = {
  [T in keyof AccountEmailJobPayloads]: JobDefinition<T, AccountEmailJobPayloads[T]>;
}[keyof AccountEmailJobPayloads];

/**
 * Each job issues its token as it sends (see AccountLinks). A job whose account changed since
 * it was scheduled (the address verified or changed, the account deleted) sends nothing, or,
 * for a password reset, the email an unknown address gets.
 */
export function accountEmailJobs(mail: OnceMailer, links: AccountLinks): Definitions[] {
  return [
    {
      type: 'email.verify',
      queue: 'email',
      async handle(payload, { jobId, log }) {
        const link = await links.issue('verify-email', payload.userId, payload.email);
        if (!link) return log.info('address verified or changed since; nothing sent');
        await mail.sendOnce(jobId, verificationEmail(payload, link));
      },
    },
    {
      type: 'email.password-reset',
      queue: 'email',
      async handle({ email, userId }, { jobId }) {
        const link = userId ? await links.issue('reset-password', userId, email) : undefined;
        await mail.sendOnce(
          jobId,
          link
            ? passwordResetEmail(email, link, links.ttlMinutes('reset-password'))
            : noAccountEmail(email),
        );
      },
    },
    {
      type: 'email.change-confirm',
      queue: 'email',
      async handle(payload, { jobId, log }) {
        const link = await links.issue('change-email', payload.userId, payload.newEmail);
        if (!link) return log.info('account gone; nothing sent');
        await mail.sendOnce(jobId, emailChangeConfirmation(payload, link));
      },
    },
    {
      type: 'email.change-notice',
      queue: 'email',
      async handle(payload, { jobId }) {
        await mail.sendOnce(jobId, emailChangeNotice(payload));
      },
    },
  ];
}
