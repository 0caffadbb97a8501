import { escapeHtml } from '../../mail/html.js';
import { renderPage } from './html-page.js';

export const LOGIN_PATH = '/admin/login';
export const LOGOUT_PATH = '/admin/logout';
export const TWO_FACTOR_PATH = '/admin/login/two-factor';

/** The sign-in form; `error` is one of the fixed messages of the login route, never input. */
export function loginPage(options: { error?: string; email?: string } = {}): string {
  const error = options.error
    ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>`
    : '';
  return renderPage(
    'Sign in',
    `<main class="narrow card">
<h1>Stratum admin</h1>
<p>Sign in with an administrator account to open the job dashboard.</p>
${error}
<form method="post" action="${LOGIN_PATH}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${escapeHtml(options.email ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="128">
<button type="submit">Sign in</button>
</form>
</main>`,
  );
}

/**
 * The second step for an account with two-factor: the code (or a recovery code), with the
 * step token the password earned carried in a hidden field. `error` is a fixed message.
 */
export function twoFactorPage(options: { stepToken: string; error?: string }): string {
  const error = options.error
    ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>`
    : '';
  return renderPage(
    'Two-factor code',
    `<main class="narrow card">
<h1>Two-factor code</h1>
<p>Enter the six-digit code your authenticator app shows, or one of your recovery codes.</p>
${error}
<form method="post" action="${TWO_FACTOR_PATH}">
<input type="hidden" name="stepToken" value="${escapeHtml(options.stepToken)}">
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="32" autofocus>
<button type="submit">Verify</button>
</form>
</main>`,
  );
}

/** A sign-out button: signing out changes state, so it is a POST, never a link followed. */
export function logoutForm(): string {
  return `<form method="post" action="${LOGOUT_PATH}"><button type="submit">Sign out</button></form>`;
}

/** What GET /admin/logout shows (bull-board's menu can only link): one button to confirm. */
export function logoutPage(): string {
  return renderPage(
    'Sign out',
    `<main class="narrow card">
<h1>Sign out</h1>
<p>End this admin session? The dashboard's cookie stops working at once.</p>
${logoutForm()}
</main>`,
  );
}
