import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A person at the provider: their subject and what the provider says of their address. */
export interface ProviderAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** The redirect URI the test client registers; the app is reached through inject, not this host. */
export const TEST_REDIRECT_URI = 'http://stratum.test/api/v1/auth/oidc/callback';

const ACCOUNT_HEADER = 'x-test-account';
const CLIENT_ID = 'stratum-test';

/**
 * A real OpenID provider (oidc-provider) on 127.0.0.1, with one confidential client for the app.
 * Its sign-in and consent pages are replaced by handlers that accept whoever `signIn` names, so
 * a test walks the browser's part of the flow with fetch: every redirect, cookie and check of
 * the provider is its own.
 */
export class TestOidcProvider {
  readonly clientId = CLIENT_ID;

  private constructor(
    private readonly server: http.Server,
    readonly issuer: string,
    private readonly provider: Provider,
    readonly clientSecret: string,
    /** Who may sign in, by subject (what findAccount answers). */
    readonly accounts: Map<string, ProviderAccount>,
  ) {}

  /** On `port` (default: any free one), e.g. where an app was told a provider would be. */
  static async start(
    options: { port?: number; clientSecret?: string } = {},
  ): Promise<TestOidcProvider> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const accounts = new Map<string, ProviderAccount>();
    const clientSecret = options.clientSecret ?? `secret-${randomUUID()}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: clientSecret,
          redirect_uris: [TEST_REDIRECT_URI],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      findAccount: (_ctx, sub) => {
        const account = accounts.get(sub);
        return account && { accountId: sub, claims: () => ({ ...account }) };
      },
      features: { devInteractions: { enabled: false } },
      cookies: { keys: [randomUUID()] },
      // Seconds; set, so the provider doesn't warn that its defaults are in use.
      ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    });
    const started = new TestOidcProvider(server, issuer, provider, clientSecret, accounts);
    const callback = provider.callback();
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith('/interaction/')) {
        started.interact(req, res).catch((err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        });
      } else {
        callback(req, res);
      }
    });
    return started;
  }

  /** OIDC_* for the app, pointing at this provider. */
  env(): Record<string, string> {
    return {
      OIDC_ISSUER: this.issuer,
      OIDC_CLIENT_ID: this.clientId,
      OIDC_CLIENT_SECRET: this.clientSecret,
      OIDC_REDIRECT_URI: TEST_REDIRECT_URI,
    };
  }

  /**
   * The browser's part: follows the app's redirect through the provider as `account` (signed in,
   * consent given) and returns the query the provider appends to the redirect URI.
   */
  async signIn(authorizeUrl: string, account: ProviderAccount): Promise<Record<string, string>> {
    this.accounts.set(account.sub, account);
    const jar = new Map<string, string>();
    let url = authorizeUrl;
    for (let hop = 0; hop < 10; hop++) {
      const res = await fetch(url, {
        redirect: 'manual',
        headers: {
          cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
          [ACCOUNT_HEADER]: account.sub,
        },
      });
      for (const line of res.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const [name = '', value = ''] = pair.split('=');
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
        else jar.set(name, value);
      }
      const location = res.headers.get('location');
      if (!location) throw new Error(`the provider answered ${res.status}: ${await res.text()}`);
      await res.body?.cancel();
      const next = new URL(location, url);
      if (next.href.startsWith(TEST_REDIRECT_URI)) return Object.fromEntries(next.searchParams);
      url = next.href;
    }
    throw new Error('the provider redirected too many times');
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The provider's sign-in, then its consent, each answered at once for the named account. */
  private async interact(req: IncomingMessage, res: ServerResponse) {
    const details = await this.provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      const accountId = String(req.headers[ACCOUNT_HEADER]);
      await this.provider.interactionFinished(
        req,
        res,
        { login: { accountId } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const grant = new this.provider.Grant({
      accountId: details.session!.accountId!,
      clientId: String(details.params.client_id),
    });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await this.provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  }
}

/** An issuer where nothing listens: a provider that is down. */
export async function downIssuer(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
