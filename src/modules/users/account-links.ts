import type { AccountTokenPurpose, AccountTokensRepository } from './account-tokens.repository.js';
import type { AccountLink } from './account-emails.mail.js';

export interface AccountLinkSettings {
  /** PUBLIC_WEB_URL: the web app whose pages the links open. */
  baseUrl: string;
  ttlMs: Record<AccountTokenPurpose, number>;
}

/** The page each purpose's link opens; it reads `#token=` and POSTs it to the API. */
const PAGES: Record<AccountTokenPurpose, string> = {
  'verify-email': 'verify-email',
  'reset-password': 'reset-password',
  'change-email': 'confirm-email-change',
};

/**
 * Issues the token a job mails, at the moment it mails it: the token exists only in the email
 * (the outbox row carries no secret, the table only its hash). A retried job issues a new one;
 * one issued by a run whose send failed expires unused.
 */
export class AccountLinks {
  constructor(
    private readonly tokens: AccountTokensRepository,
    private readonly settings: AccountLinkSettings,
  ) {}

  async issue(
    purpose: AccountTokenPurpose,
    userId: string,
    email: string,
  ): Promise<AccountLink | undefined> {
    const token = await this.tokens.issue(purpose, userId, email, this.settings.ttlMs[purpose]);
    if (!token) return undefined;
    const href = new URL(PAGES[purpose], this.settings.baseUrl.replace(/\/?$/, '/'));
    href.hash = `token=${token}`;
    return { href: href.toString(), token };
  }

  ttlMinutes(purpose: AccountTokenPurpose): number {
    return Math.round(this.settings.ttlMs[purpose] / 60_000);
  }
}
