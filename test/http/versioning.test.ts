import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';

const pglite = engines[0]!;

interface Answer {
  status: number;
  version: string | undefined;
  /** v1 lists have page numbers, v2 lists a cursor limit. */
  shape: 'v1' | 'v2' | 'error';
  code?: string;
}

describe('version selection (PGlite)', () => {
  let app: StartedApp;
  let admin: TestUser;

  before(async () => {
    app = await startApp(pglite);
    admin = await createUserAndLogin(app.server, app.services, 'admin');
  });
  after(async () => {
    await app?.close();
  });

  async function call(url: string, version?: string): Promise<Answer> {
    const headers = {
      ...bearer(admin.accessToken),
      ...(version === undefined ? {} : { 'api-version': version }),
    };
    const res = await app.server.inject({ method: 'GET', url, headers });
    const body = res.json<{ meta: Record<string, unknown>; error?: { code: string } }>();
    const shape = body.error ? 'error' : 'page' in body.meta ? 'v1' : 'v2';
    const version_ = res.headers['api-version'];
    return {
      status: res.statusCode,
      version: typeof version_ === 'string' ? version_ : undefined,
      shape,
      ...(body.error ? { code: body.error.code } : {}),
    };
  }

  const v1: Answer = { status: 200, version: '1', shape: 'v1' };
  const v2: Answer = { status: 200, version: '2', shape: 'v2' };
  const unsupported: Answer = {
    status: 400,
    version: undefined,
    shape: 'error',
    code: 'UNSUPPORTED_API_VERSION',
  };

  const cases: [url: string, header: string | undefined, expected: Answer][] = [
    ['/api/users', undefined, v1],
    ['/api/users', '1', v1],
    ['/api/users', 'v1', v1],
    ['/api/users', '2', v2],
    ['/api/users', 'V2', v2],
    ['/api/users', '3', unsupported],
    ['/api/users', 'garbage', unsupported],
    ['/api/users', '', unsupported],
    ['/api/v1/users', undefined, v1],
    ['/api/v2/users', undefined, v2],
    // The URL wins over the header, even a header naming no version at all.
    ['/api/v1/users', '2', v1],
    ['/api/v2/users', '1', v2],
    ['/api/v2/users', 'garbage', v2],
    ['/api/v9/users', undefined, unsupported],
    ['/api/v0/users', '1', unsupported],
  ];
  for (const [url, header, expected] of cases) {
    it(`when GET ${url} comes with api-version ${JSON.stringify(header)}, then ${expected.status} from ${expected.version ?? 'no version'}`, async () => {
      assert.deepEqual(await call(url, header), expected);
    });
  }

  it('when a route exists only in v1, then the header form reaches it and v2 answers 404', async () => {
    assert.equal((await call('/api/products')).status, 200);
    assert.deepEqual(await call('/api/products', '2'), {
      status: 404,
      version: '2',
      shape: 'error',
      code: 'NOT_FOUND',
    });
  });

  it('when v1 retirement is not configured, then v1 answers carry no Deprecation or Sunset', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/api/v1/products' });
    assert.equal(res.headers.deprecation, undefined);
    assert.equal(res.headers.sunset, undefined);
  });

  it('when the documents are read, then each version has its own paths and the api-version header', async () => {
    type Doc = {
      info: { version: string };
      paths: Record<
        string,
        Record<string, { parameters?: { name: string; in: string; schema: { enum: string[] } }[] }>
      >;
    };
    const doc = async (url: string) =>
      (await app.server.inject({ method: 'GET', url })).json<Doc>();
    const [first, second, legacy] = await Promise.all(
      ['/openapi/v1.json', '/openapi/v2.json', '/openapi.json'].map(doc),
    );
    assert.deepEqual(legacy, first);
    for (const [document, version] of [
      [first!, '1'],
      [second!, '2'],
    ] as const) {
      assert.equal(document.info.version, `${version}.0.0`);
      const api = Object.keys(document.paths).filter((p) => p.startsWith('/api/'));
      assert.ok(api.length > 0 && api.every((p) => p.startsWith(`/api/v${version}/`)), api.join());
      const header = document.paths[`/api/v${version}/users`]!.get!.parameters!.find(
        (p) => p.name === 'api-version',
      );
      assert.equal(header?.in, 'header');
      assert.deepEqual(header?.schema.enum, [version, `v${version}`]);
    }
  });
});

describe('v1 retirement headers (PGlite)', () => {
  let app: StartedApp;
  let admin: TestUser;

  before(async () => {
    app = await startApp(pglite, {
      env: {
        API_V1_DEPRECATION: '2026-06-30',
        API_V1_SUNSET: 'Thu, 31 Dec 2026 23:59:59 GMT',
        API_V1_DEPRECATION_LINK: 'https://example.com/api-v1-retirement',
      },
    });
    admin = await createUserAndLogin(app.server, app.services, 'admin');
  });
  after(async () => {
    await app?.close();
  });

  it('when v1 answers, then Deprecation (RFC 9745), Sunset (RFC 8594) and the links come with it', async () => {
    const res = await app.server.inject({
      method: 'GET',
      url: `/api/v1/users/${admin.id}`,
      headers: bearer(admin.accessToken),
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.deprecation, `@${Date.UTC(2026, 5, 30) / 1000}`);
    assert.equal(res.headers.sunset, 'Thu, 31 Dec 2026 23:59:59 GMT');
    assert.equal(
      res.headers.link,
      [
        '<https://example.com/api-v1-retirement>; rel="deprecation"; type="text/html"',
        '<https://example.com/api-v1-retirement>; rel="sunset"; type="text/html"',
        `</api/v2/users/${admin.id}>; rel="successor-version"`,
      ].join(', '),
    );
  });

  it('when the header form selects v1, or a v1 route fails, then the headers still come', async () => {
    const unversioned = await app.server.inject({ method: 'GET', url: '/api/products' });
    assert.equal(unversioned.headers['api-version'], '1');
    assert.ok(unversioned.headers.deprecation);
    assert.ok(!String(unversioned.headers.link).includes('successor-version'), 'no v2 products');
    const refused = await app.server.inject({ method: 'GET', url: '/api/v1/users' });
    assert.equal(refused.statusCode, 401);
    assert.ok(refused.headers.sunset);
  });

  it('when v2 answers, then it carries no retirement headers', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/api/v2/posts' });
    assert.equal(res.headers['api-version'], '2');
    assert.equal(res.headers.deprecation, undefined);
    assert.equal(res.headers.sunset, undefined);
    assert.equal(res.headers.link, undefined);
  });

  it('when the v1 document is read, then its operations are marked deprecated', async () => {
    const doc = (await app.server.inject({ method: 'GET', url: '/openapi/v1.json' })).json<{
      paths: Record<string, Record<string, { deprecated?: boolean }>>;
    }>();
    assert.equal(doc.paths['/api/v1/users']?.get?.deprecated, true);
  });
});
