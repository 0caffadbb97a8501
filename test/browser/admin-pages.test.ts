import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateSync } from 'otplib';
import type { Browser } from 'playwright-core';
import { engines } from '../support/databases.js';
import { startApp, type StartedApp } from '../support/app.js';
import { createUserAndLogin, type TestUser } from '../support/auth.js';
import {
  chromiumSkip,
  launchChromium,
  listen,
  openPage,
  type PageWatch,
} from '../support/browser.js';
import { deleteQueueKeys, openQueueRedis, uniqueQueuePrefix } from '../support/queues.js';
import { openRedis, redisSkip } from '../support/redis.js';

/**
 * What a person sees in a real browser (Debian's Chromium through playwright-core), with every
 * request off the app's origin refused: the API docs, GraphiQL, and the job dashboard behind
 * its sign-in page, in embedded mode (the outbox page) and with Redis (bull-board).
 */

const pglite = engines.find((e) => e.name === 'pglite')!;
const postgres = engines.find((e) => e.name === 'postgres')!;
const TIMEOUT_MS = 30_000;

/** The app on a port of its own, a browser, and an admin and a plain user to sign in as. */
function useSite(options: { redis: boolean }) {
  const site = {} as {
    app: StartedApp;
    origin: string;
    browser: Browser;
    admin: TestUser;
    user: TestUser;
  };
  const redis = options.redis ? openRedis() : undefined;
  const queueRedis = options.redis ? openQueueRedis() : undefined;
  const prefix = uniqueQueuePrefix();
  before(async () => {
    site.app = await startApp(options.redis ? postgres : pglite, {
      redis,
      queueRedis,
      env: { QUEUE_PREFIX: prefix, GRAPHQL_GRAPHIQL: 'true' },
    });
    site.origin = await listen(site.app);
    site.browser = await launchChromium();
    site.admin = await createUserAndLogin(site.app.server, site.app.services, 'admin');
    site.user = await createUserAndLogin(site.app.server, site.app.services);
    // A registration schedules a job: something for the dashboard to list.
    const res = await site.app.server.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { name: 'Visitor', email: `v-${randomUUID()}@example.com`, password: 'long pw ok' },
    });
    assert.equal(res.statusCode, 201, res.body);
  });
  after(async () => {
    await site.browser?.close();
    await site.app?.close();
    redis?.disconnect();
    queueRedis?.disconnect();
    if (options.redis) await deleteQueueKeys(prefix);
  });
  return site;
}

/** `allowed`: refusals the page's policy makes on purpose (bull-board's Google Fonts). */
function assertStayedHome(watch: PageWatch, allowed?: RegExp) {
  assert.deepEqual(watch.offsite, [], 'no request left the app');
  const csp = watch.errors.filter(
    (e) => /Content Security Policy/i.test(e) && !(allowed && allowed.test(e)),
  );
  assert.deepEqual(csp, [], 'nothing blocked by the page policy');
}

async function signIn(watch: PageWatch, origin: string, who: TestUser) {
  const { page } = watch;
  await page.goto(`${origin}/admin/queues`);
  assert.equal(new URL(page.url()).pathname, '/admin/login', 'sent to sign in first');
  await page.fill('input[name="email"]', who.email);
  await page.fill('input[name="password"]', who.password);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
}

describe(
  'pages in a browser (embedded)',
  { skip: chromiumSkip ?? pglite.skip, timeout: 180_000 },
  () => {
    const site = useSite({ redis: false });

    it('when /docs is opened, then Swagger UI lists the operations', async () => {
      const watch = await openPage(site.browser, site.origin);
      const response = await watch.page.goto(`${site.origin}/docs`);
      // The page runs under a policy of its own: scripts from this origin only.
      assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
      await watch.page.locator('.opblock').first().waitFor({ timeout: TIMEOUT_MS });
      const operations = await watch.page.locator('.opblock').count();
      assert.ok(operations > 10, `${operations} operations listed`);
      assert.ok(await watch.page.getByText('/api/v1/auth/login').first().isVisible());
      assertStayedHome(watch);
      await watch.page.context().close();
    });

    it('when /graphiql is opened, then the editor runs { __typename } without any CDN', async () => {
      const watch = await openPage(site.browser, site.origin);
      const { page } = watch;
      await page.goto(`${site.origin}/graphiql`);
      await page.locator('.graphiql-container').waitFor({ timeout: TIMEOUT_MS });
      // The default query is `{ __typename }`; the run button sends it to /graphql.
      await page.locator('.graphiql-execute-button').click();
      await page.locator('.result-window').getByText('"Query"').waitFor({ timeout: TIMEOUT_MS });
      const result = await page.locator('.result-window').innerText();
      assert.match(result, /"__typename":\s*"Query"/);
      // The headers editor is there for the Authorization header.
      assert.ok(await page.getByText('Headers', { exact: true }).first().isVisible());
      assertStayedHome(watch);
      await page.context().close();
    });

    it('when an admin signs in, then the outbox page shows its counts, and signing out returns to the form', async () => {
      const watch = await openPage(site.browser, site.origin);
      const { page } = watch;
      await signIn(watch, site.origin, site.admin);
      assert.equal(new URL(page.url()).pathname, '/admin/queues');
      await page.getByRole('heading', { name: 'Jobs (outbox)' }).waitFor();
      for (const state of ['pending', 'sent', 'dead']) {
        const count = await page.locator(`.count[data-state="${state}"] strong`).innerText();
        assert.match(count, /^\d+$/, `${state} count`);
      }
      assert.ok(await page.getByText('email.welcome').first().isVisible());
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Sign out' }).click(),
      ]);
      assert.equal(new URL(page.url()).pathname, '/admin/login');
      // The cookie is gone: the dashboard sends the browser to sign in again.
      await page.goto(`${site.origin}/admin/queues`);
      assert.equal(new URL(page.url()).pathname, '/admin/login');
      assertStayedHome(watch);
      await page.context().close();
    });

    it('when a plain user signs in, then the form comes back with the error', async () => {
      const watch = await openPage(site.browser, site.origin);
      const { page } = watch;
      await signIn(watch, site.origin, site.user);
      assert.equal(new URL(page.url()).pathname, '/admin/login');
      await page.getByRole('alert').waitFor();
      assert.match(await page.getByRole('alert').innerText(), /may not sign in here/);
      const cookies = await page.context().cookies();
      assert.deepEqual(
        cookies.filter((c) => c.name === 'stratum_admin'),
        [],
      );
      await page.goto(`${site.origin}/admin/queues`);
      assert.equal(new URL(page.url()).pathname, '/admin/login');
      assertStayedHome(watch);
      await page.context().close();
    });

    it('when an admin with two-factor signs in, then a second form takes the code and the dashboard opens', async () => {
      const { server, services } = site.app;
      const admin = await createUserAndLogin(server, services, 'admin');
      const actor = { userId: admin.id, role: 'admin' as const };
      const { secret } = await services.twoFactor.start(actor, admin.id);
      const codeAt = (steps: number) =>
        generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });
      await services.twoFactor.confirm(actor, admin.id, codeAt(-1));
      const watch = await openPage(site.browser, site.origin);
      const { page } = watch;
      await signIn(watch, site.origin, admin);
      await page.getByRole('heading', { name: 'Two-factor code' }).waitFor();
      assert.deepEqual(
        (await page.context().cookies()).filter((c) => c.name === 'stratum_admin'),
        [],
        'no session before the code',
      );
      await page.fill('input[name="code"]', codeAt(0));
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      assert.equal(new URL(page.url()).pathname, '/admin/queues');
      await page.getByRole('heading', { name: 'Jobs (outbox)' }).waitFor();
      assertStayedHome(watch);
      await page.context().close();
    });
  },
);

describe(
  'pages in a browser (PostgreSQL + Redis: bull-board)',
  { skip: chromiumSkip ?? postgres.skip ?? redisSkip, timeout: 180_000 },
  () => {
    const site = useSite({ redis: true });

    it("when an admin signs in, then bull-board's UI shows the queues; signing out returns to the form", async () => {
      const watch = await openPage(site.browser, site.origin);
      const { page } = watch;
      await signIn(watch, site.origin, site.admin);
      assert.equal(new URL(page.url()).pathname, '/admin/queues');
      // bull-board renders in the browser: the queue's name appears once its API answered.
      await page.getByText('email', { exact: true }).first().waitFor({ timeout: TIMEOUT_MS });
      const cookie = (await page.context().cookies()).find((c) => c.name === 'stratum_admin');
      assert.ok(cookie?.httpOnly);
      assert.equal(cookie?.sameSite, 'Strict');
      assert.equal(cookie?.path, '/admin');
      // Its actions are cookie-authenticated PUTs: the browser sends this page's Origin, so
      // the CSRF check lets the dashboard's own calls through.
      const statuses = await page.evaluate(async () => {
        const pause = await fetch('api/queues/email/pause', { method: 'PUT' });
        const resume = await fetch('api/queues/email/resume', { method: 'PUT' });
        return [pause.status, resume.status];
      });
      assert.deepEqual(statuses, [200, 200]);
      // The same action with the same cookie, from another site's page: refused.
      const forged = await fetch(`${site.origin}/admin/queues/api/queues/email/pause`, {
        method: 'PUT',
        headers: { cookie: `stratum_admin=${cookie.value}`, origin: 'http://evil.test' },
      });
      assert.equal(forged.status, 403);
      assert.equal(
        ((await forged.json()) as { error: { code: string } }).error.code,
        'CROSS_SITE_REQUEST',
      );
      assert.equal(await site.app.jobs.queues!.get('email')!.isPaused(), false);
      // Its menu links to the sign-out page; its button posts.
      await page.goto(`${site.origin}/admin/logout`);
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Sign out' }).click(),
      ]);
      assert.equal(new URL(page.url()).pathname, '/admin/login');
      await page.goto(`${site.origin}/admin/queues`);
      assert.equal(new URL(page.url()).pathname, '/admin/login');
      assertStayedHome(watch, /fonts\.googleapis\.com/);
      await page.context().close();
    });
  },
);
