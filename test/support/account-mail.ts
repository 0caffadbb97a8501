import assert from 'node:assert/strict';
import type { ReceivedMail, TestSmtpServer } from './smtp.js';
import { eventually } from './time.js';

/** The message as a reader sees it: quoted-printable soft breaks and escapes undone. */
export function decoded(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export interface AccountMail {
  mail: ReceivedMail;
  text: string;
  /** The link's address, and the token in its fragment. */
  href: URL;
  token: string;
}

/** The `index`-th email to `to` whose subject matches, once it arrived (waits for it). */
export async function mailTo(
  smtp: TestSmtpServer,
  to: string,
  subject: RegExp,
  index = 0,
): Promise<ReceivedMail> {
  return eventually(
    () => smtp.messages.filter((m) => m.to.includes(to) && subject.test(m.subject))[index] ?? false,
    { what: `email ${subject} #${index + 1} to ${to}` },
  );
}

/** An account email with a link: the link is followed to its token, checked against the code. */
export async function linkMailTo(
  smtp: TestSmtpServer,
  to: string,
  subject: RegExp,
  index = 0,
): Promise<AccountMail> {
  const mail = await mailTo(smtp, to, subject, index);
  const text = decoded(mail.raw);
  const link = /(https?:\/\/[^\s"<]+#token=[A-Za-z0-9_-]+)/.exec(text)?.[1];
  assert.ok(link, `a link with a token in ${text}`);
  const href = new URL(link);
  const token = new URLSearchParams(href.hash.slice(1)).get('token')!;
  const code = /Or use this code:\s+([A-Za-z0-9_-]+)/.exec(text)?.[1];
  assert.equal(code, token, 'the code and the link carry the same token');
  return { mail, text, href, token };
}
