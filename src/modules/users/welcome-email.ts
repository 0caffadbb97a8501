import { escapeHtml } from '../../platform/mail/html.js';
import type { MailMessage } from '../../platform/mail/mailer.js';
import { html, withToken, type AccountLink } from './account-emails.mail.js';

export interface WelcomeEmailPayload {
  userId: string;
  email: string;
  name: string;
}

/**
 * The welcome email, as text and HTML; the name is the user's own input, so HTML-escaped. While
 * the address is unverified it carries the verification link (one email at sign-up, not two).
 */
export function welcomeEmail(
  payload: WelcomeEmailPayload,
  verify?: AccountLink,
): Omit<MailMessage, 'messageId'> {
  if (verify) {
    const lines = [
      `Hello ${payload.name},`,
      `your Stratum account for ${payload.email} is ready. Confirm that this address is yours:`,
    ];
    return {
      to: payload.email,
      subject: 'Welcome to Stratum',
      text: withToken(lines, verify.href, verify.token, ['The link works once.']),
      html: html(lines, { ...verify, label: 'Verify my email' }),
    };
  }
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
