import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { StartedApp } from './app.js';
import { skipOrFail } from './skip.js';

/** Debian's Chromium (apt-get install chromium): playwright-core downloads no browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Undefined when the browser is installed, else the reason (in CI: an error, never a skip). */
export const chromiumSkip = fs.existsSync(CHROMIUM_PATH)
  ? undefined
  : skipOrFail('Chromium', `${CHROMIUM_PATH} is missing; apt-get install chromium`);

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI and containers run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
}

/** Starts the app's server on a free port of the loopback interface; its origin. */
export async function listen(app: StartedApp): Promise<string> {
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** What a page did that a person doesn't see: requests off the app's origin and page errors. */
export interface PageWatch {
  page: Page;
  /** Every request to another origin: refused, never sent. */
  offsite: string[];
  /** Console errors, uncaught exceptions and CSP violations. */
  errors: string[];
}

/**
 * A fresh browser context (no cookies, no storage) in which every request to anything but
 * `origin` is aborted and recorded: a page that works here works without the internet.
 */
export async function openPage(browser: Browser, origin: string): Promise<PageWatch> {
  const context: BrowserContext = await browser.newContext();
  const offsite: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    offsite.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, offsite, errors };
}
