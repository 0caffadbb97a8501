import { escapeHtml } from '../../platform/mail/html.js';
import type { MailMessage } from '../../platform/mail/mailer.js';

type Message = Omit<MailMessage, 'messageId'>;

/**
 * The emails of the account flows. Each link carries its token in the fragment (`#token=`):
 * a browser never sends the fragment to a server, so the token stays out of access logs and
 * Referer headers, and a mail scanner that follows the link spends nothing (only the page's
 * POST does). The token is also printed on its own line, for a client without that page.
 */

export function withToken(
  lines: string[],
  link: string,
  token: string,
  ending: string[],
): Message['text'] {
  return [
    ...lines,
    '',
    link,
    '',
    // On a line of its own: short enough that no transfer encoding wraps it.
    'Or use this code:',
    token,
    '',
    ...ending,
    '',
    '— Stratum',
    '',
  ].join('\n');
}

export function html(lines: string[], link?: { href: string; label: string; token: string }) {
  const body = lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('');
  const action = link
    ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` +
      `<p>Or use this code: <code>${escapeHtml(link.token)}</code></p>`
    : '';
  return `<!doctype html><html><body>${body}${action}<p>— Stratum</p></body></html>`;
}

export interface AccountLink {
  href: string;
  token: string;
}

export function verificationEmail(
  to: { email: string; name: string },
  verify: AccountLink,
): Message {
  const lines = [`Hello ${to.name},`, `confirm that ${to.email} is your Stratum address:`];
  return {
    to: to.email,
    subject: 'Verify your Stratum email',
    text: withToken(lines, verify.href, verify.token, ['The link works once.']),
    html: html(lines, { ...verify, label: 'Verify my email' }),
  };
}

export function passwordResetEmail(email: string, reset: AccountLink, ttlMinutes: number): Message {
  const lines = [
    `Someone asked to reset the password of the Stratum account for ${email}.`,
    'If it was you, choose a new password here:',
  ];
  const ending = [
    `The link works once, for ${ttlMinutes} minutes. Every session of the account ends when the password changes.`,
    'If it was not you, ignore this email: your password stays as it is.',
  ];
  return {
    to: email,
    subject: 'Reset your Stratum password',
    text: withToken(lines, reset.href, reset.token, ending),
    html: html([...lines], { ...reset, label: 'Choose a new password' }).replace(
      '<p>— Stratum</p>',
      ending.map((line) => `<p>${escapeHtml(line)}</p>`).join('') + '<p>— Stratum</p>',
    ),
  };
}

/** The answer to a reset asked for an address no account uses: it says so, and nothing more. */
export function noAccountEmail(email: string): Message {
  const lines = [
    `Someone asked to reset the password of a Stratum account for ${email}.`,
    'No Stratum account uses this address, so nothing was changed.',
    'If it was not you, ignore this email.',
  ];
  return {
    to: email,
    subject: 'Reset your Stratum password',
    text: [...lines, '', '— Stratum', ''].join('\n'),
    html: html(lines),
  };
}

export function emailChangeConfirmation(
  to: { newEmail: string; name: string },
  confirm: AccountLink,
): Message {
  const lines = [
    `Hello ${to.name},`,
    `confirm that your Stratum account should use ${to.newEmail} from now on:`,
  ];
  return {
    to: to.newEmail,
    subject: 'Confirm your new Stratum email',
    text: withToken(lines, confirm.href, confirm.token, [
      'The link works once. Until then your account keeps its current address.',
    ]),
    html: html(lines, { ...confirm, label: 'Use this address' }),
  };
}

export function emailChangeNotice(to: {
  oldEmail: string;
  newEmail: string;
  name: string;
}): Message {
  const lines = [
    `Hello ${to.name},`,
    `someone signed in to your Stratum account asked to change its email from ${to.oldEmail} to ${to.newEmail}.`,
    'The change happens only when the new address confirms it.',
    'If it was not you, change your password now.',
  ];
  return {
    to: to.oldEmail,
    subject: 'Your Stratum email is about to change',
    text: [...lines, '', '— Stratum', ''].join('\n'),
    html: html(lines),
  };
}
