import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { authenticationPlugin } from '../../src/platform/auth/authenticate.js';
import { MemoryRevocationList } from '../../src/platform/auth/revocations.js';
import type { AccessTokens } from '../../src/platform/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { rateLimitPlugin } from '../../src/platform/http/rate-limit.js';
import { requestIdFrom, requestIdPlugin } from '../../src/platform/http/request-id.js';
import { versioningPlugin } from '../../src/platform/http/versioning.js';

const auth = { tokens: {} as AccessTokens, revocations: new MemoryRevocationList() };

describe('the cross-cutting plugins declare their order', () => {
  it('when the limiter is registered before authentication, then start-up fails', async () => {
    const app = Fastify();
    await assert.rejects(
      async () => {
        await app.register(requestIdPlugin);
        await app.register(versioningPlugin, {});
        await app.register(rateLimitPlugin, { config: loadConfig({}) });
      },
      { code: 'FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE' },
    );
    await app.close();
  });

  it('when authentication is registered before the version check, then start-up fails', async () => {
    const app = Fastify();
    await assert.rejects(
      async () => {
        await app.register(requestIdPlugin);
        await app.register(authenticationPlugin, auth);
      },
      { code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED' },
    );
    await app.close();
  });

  it('when they come in order, then their hooks run on the one instance', async () => {
    const app = Fastify({ genReqId: requestIdFrom });
    await app.register(requestIdPlugin);
    await app.register(versioningPlugin, {});
    await app.register(authenticationPlugin, auth);
    await app.register(rateLimitPlugin, { config: loadConfig({}) });
    app.get('/api/v1/ping', async () => ({ ok: true }));
    const res = await app.inject({ url: '/api/v1/ping', headers: { 'x-request-id': 'abc' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-request-id'], 'abc');
    assert.equal(res.headers['api-version'], '1');
    assert.ok(res.headers['ratelimit-limit'] ?? res.headers['x-ratelimit-limit']);
    await app.close();
  });
});
