import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startApp, type StartedApp } from '../support/app.js';
import { engines } from '../support/databases.js';

const engine = engines.find((e) => e.name === 'postgres')!;
const REQUEST_TIMEOUT_MS = 1_000;
/** Node's default --max-http-header-size. */
const NODE_HEADER_LIMIT = 16 * 1024;
const randomAddress = () => `10.${randomInt(255)}.${randomInt(255)}.${randomInt(1, 255)}`;

interface Envelope {
  error: { code: string; message: string; details?: unknown };
  meta: { timestamp: string; requestId: string };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `text` on a fresh connection (keeping it open, as a slow client would) and reads until
 * the server closes it, or until the first complete response when it keeps the connection.
 */
function rawRequest(port: number, text: string, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms: ${read()}`));
    }, timeoutMs);
    const read = () => Buffer.concat(chunks).toString('latin1');
    const parsed = (): RawResponse | undefined => {
      const raw = read();
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = raw.slice(end + 4);
      const length = headers['content-length'];
      if (length !== undefined && Buffer.byteLength(body, 'latin1') < Number(length)) {
        return undefined;
      }
      return { status: Number(statusLine.split(' ')[1]), headers, body };
    };
    const finish = () => {
      clearTimeout(timer);
      const response = parsed();
      socket.destroy();
      if (response) resolve(response);
      else reject(new Error(`connection closed without a response: ${JSON.stringify(read())}`));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (parsed()) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => {
      // A reset after the answer was written still leaves the answer to read.
    });
    socket.write(text);
  });
}

function assertEnvelope(res: RawResponse, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res));
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(res.body) as Envelope;
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.deepEqual(Object.keys(body).sort(), ['error', 'meta']);
  assert.ok(
    Object.keys(body.error).every((key) => ['code', 'message', 'details'].includes(key)),
    JSON.stringify(body.error),
  );
  assert.ok(!Number.isNaN(Date.parse(body.meta.timestamp)), body.meta.timestamp);
  assert.ok(body.meta.requestId, 'meta.requestId is set');
  assert.equal(res.headers['x-request-id'], body.meta.requestId, 'x-request-id names the request');
  return body;
}

describe('errors answered before routing', { skip: engine.skip }, () => {
  let app: StartedApp;
  let port: number;

  before(async () => {
    app = await startApp(engine, { env: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) } });
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.server.address() as net.AddressInfo).port;
  });
  after(() => app.close());

  it('when the request line is malformed, then 400 BAD_REQUEST in the envelope', async () => {
    for (const text of [
      'HELLO THERE\r\n\r\n',
      'GET /api/v1/health HTTP/9.9x\r\nHost: a\r\n\r\n',
      'GET\r\n\r\n',
    ]) {
      const res = await rawRequest(port, text);
      assertEnvelope(res, 400, 'BAD_REQUEST');
    }
  });

  it("when the headers are larger than Node's limit, then 431 HEADERS_TOO_LARGE in the envelope", async () => {
    const big = 'a'.repeat(NODE_HEADER_LIMIT + 1024);
    const res = await rawRequest(
      port,
      `GET /api/v1/users/me HTTP/1.1\r\nHost: a\r\nX-Big: ${big}\r\n\r\n`,
    );
    assertEnvelope(res, 431, 'HEADERS_TOO_LARGE');
  });

  it('when the body does not arrive within REQUEST_TIMEOUT_MS, then 408 REQUEST_TIMEOUT in the envelope', async () => {
    const started = Date.now();
    const res = await rawRequest(
      port,
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\n\r\n{"email":',
    );
    assertEnvelope(res, 408, 'REQUEST_TIMEOUT');
    assert.ok(Date.now() - started >= REQUEST_TIMEOUT_MS - 100, 'not before the timeout');
  });

  it('when a path parameter is longer than maxParamLength, then 414 URI_TOO_LONG in the envelope', async () => {
    for (const url of [`/api/v1/users/${'a'.repeat(101)}`, `/api/v1/products/${'0'.repeat(200)}`]) {
      const res = await rawRequest(
        port,
        `GET ${url} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
      );
      assertEnvelope(res, 414, 'URI_TOO_LONG');
    }
  });

  it('when the URL cannot be decoded, then 400 BAD_REQUEST in the envelope', async () => {
    for (const url of ['/api/v1/users/%E0%A4%A', '/api/v1/products/%FF']) {
      const res = await rawRequest(
        port,
        `GET ${url} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
      );
      assertEnvelope(res, 400, 'BAD_REQUEST');
    }
  });

  it('when the same errors go through inject, then they answer the same', async () => {
    const long = await app.server.inject({
      method: 'GET',
      url: `/api/v1/users/${'a'.repeat(101)}`,
    });
    assert.equal(long.statusCode, 414, long.body);
    assert.equal(long.json<Envelope>().error.code, 'URI_TOO_LONG');
    assert.equal(long.headers['x-request-id'], long.json<Envelope>().meta.requestId);
    const bad = await app.server.inject({ method: 'GET', url: '/api/v1/users/%E0%A4%A' });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json<Envelope>().error.code, 'BAD_REQUEST');
    assert.equal(bad.headers['x-request-id'], bad.json<Envelope>().meta.requestId);
  });

  it('when the server stays up after those, then an ordinary request still works', async () => {
    const res = await rawRequest(
      port,
      'GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    assertEnvelope(res, 404, 'NOT_FOUND');
  });
});

describe('unknown routes and the docs count against the rate limit', { skip: engine.skip }, () => {
  const LIMIT = 3;
  let app: StartedApp;

  before(async () => {
    app = await startApp(engine, {
      env: { RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_MS: '60000' },
    });
  });
  after(() => app.close());

  const statusesOf = async (urls: string[]) => {
    const remoteAddress = randomAddress();
    const responses = [];
    for (const url of urls) {
      responses.push(await app.server.inject({ method: 'GET', url, remoteAddress }));
    }
    return responses;
  };

  for (const [what, url] of [
    ['an unknown path', '/api/v1/no-such-thing'],
    ['an unknown path outside /api', '/wp-admin.php'],
    ['the OpenAPI document', '/openapi/v1.json'],
    ['the docs UI', '/docs'],
  ] as const) {
    it(`when one address asks for ${what} more than RATE_LIMIT_MAX times, then the next is 429 RATE_LIMITED in the envelope`, async () => {
      const responses = await statusesOf(Array.from({ length: LIMIT + 1 }, () => url));
      const statuses = responses.map((r) => r.statusCode);
      assert.ok(
        statuses.slice(0, LIMIT).every((s) => s !== 429),
        `the first ${LIMIT} pass: ${statuses.join(',')}`,
      );
      const last = responses.at(-1)!;
      assert.equal(last.statusCode, 429, statuses.join(','));
      const body = last.json<Envelope>();
      assert.equal(body.error.code, 'RATE_LIMITED');
      assert.deepEqual(Object.keys(body).sort(), ['error', 'meta']);
      assert.equal(last.headers['x-request-id'], body.meta.requestId);
    });
  }

  it('when unknown paths and the docs are mixed, then they share one budget', async () => {
    const responses = await statusesOf([
      '/api/v1/no-such-thing',
      '/openapi/v1.json',
      '/nope',
      '/openapi/v1.json',
    ]);
    assert.deepEqual(
      responses.map((r) => r.statusCode),
      [404, 200, 404, 429],
    );
  });
});
