import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { engines } from '../../support/databases.js';
import { startApp, type StartedApp } from '../../support/app.js';

/**
 * GraphiQL is served by the app from node_modules (no CDN): the page, its files under
 * /graphiql/assets with their types and cache headers, and the page's own CSP. The browser
 * test (test/browser) runs it in Chromium.
 */

const engine = engines.find((e) => e.name === 'pglite')!;

describe('GraphiQL page', { skip: engine.skip }, () => {
  let app: StartedApp;
  let page: { body: string; headers: Record<string, unknown> };
  before(async () => {
    app = await startApp(engine, { env: { GRAPHQL_GRAPHIQL: 'true' } });
    const res = await app.server.inject({ method: 'GET', url: '/graphiql' });
    assert.equal(res.statusCode, 200);
    page = { body: res.body, headers: res.headers };
  });
  after(() => app.close());

  const assets = () =>
    [...page.body.matchAll(/(?:src|href)="(\/graphiql\/assets\/[^"]+)"/g)].map((m) => m[1]!);

  it('when /graphiql is opened, then the page names only files of this app', () => {
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(page.body, /https?:\/\/|unpkg|cdn/i);
    assert.match(page.body, /data-endpoint="\/graphql"/);
    const files = assets();
    assert.equal(files.length, 5, files.join('\n'));
    for (const name of [
      'react.production.min.',
      'react-dom.production.min.',
      'graphiql.min.',
      'graphiql-init.',
    ]) {
      assert.ok(
        files.some((f) => f.includes(`/${name}`)),
        name,
      );
    }
  });

  it("when the page is served, then its CSP runs this origin's scripts only and allows inline styles", () => {
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self' 'unsafe-inline'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-eval/);
  });

  it('when each file is fetched, then it has its type and may be cached for good', async () => {
    for (const url of assets()) {
      const res = await app.server.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      const type = url.endsWith('.css') ? /^text\/css/ : /^text\/javascript/;
      assert.match(String(res.headers['content-type']), type, url);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.ok(res.rawPayload.length > 0);
    }
  });

  it('when the client accepts br or gzip, then the file comes compressed and unchanged', async () => {
    const url = assets().find((f) => f.includes('/graphiql.min.') && f.endsWith('.js'))!;
    const plain = await app.server.inject({ method: 'GET', url });
    const br = await app.server.inject({
      method: 'GET',
      url,
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.ok(brotliDecompressSync(br.rawPayload).equals(plain.rawPayload));
    const gzip = await app.server.inject({
      method: 'GET',
      url,
      headers: { 'accept-encoding': 'br;q=0, gzip' },
    });
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.ok(gunzipSync(gzip.rawPayload).equals(plain.rawPayload));
    assert.equal(gzip.headers.vary, 'accept-encoding');
  });

  it("when a file is not one of the page's, then 404 in the envelope", async () => {
    for (const url of ['/graphiql/assets/react.production.min.js', '/graphiql/main.js']) {
      const res = await app.server.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');
    }
  });
});
