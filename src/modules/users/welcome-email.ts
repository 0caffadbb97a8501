import { escapeHtml } from '../../platform/mail/html.js';
import type { MailMessage } from '../../platform/mail/mailer.js';

export interface WelcomeEmailPayload {
  userId: string;
  email: string;
  name: string;
}

/** The welcome email, as text and HTML; the name is the user's own input, so HTML-escaped. */
export function welcomeEmail(payload: WelcomeEmailPayload): Omit<MailMessage, 'messageId'> {
  const name = escapeHtml(payload.name);
  return {
    to: payload.email,
    subject: 'Welcome to Stratum',
    text: `Hello ${payload.name},\n\nyour Stratum account for ${payload.email} is ready.\n\n— Stratum\n`,
    html:
      `<!doctype html><html><body><p>Hello ${name},</p>` +
      `<p>your Stratum account for ${escapeHtml(payload.email)} is ready.</p>` +
      `<p>— Stratum</p></body></html>`,
  };
}
