import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it, mock } from 'node:test';
import { AccessTokens, TokenExpiredError } from '../../src/platform/auth/tokens.js';

const settings = {
  secret: new TextEncoder().encode('a-secret-of-at-least-thirty-two-bytes!'),
  algorithm: 'HS256' as const,
  issuer: 'stratum',
  audience: 'stratum-api',
  accessTtlMs: 60_000,
};
const user = { id: randomUUID(), email: 'a@example.com', role: 'user' as const };

describe('access-token verification cache', () => {
  afterEach(() => mock.timers.reset());

  it('when a verified token reaches its expiry, then the next check refuses it', async () => {
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const tokens = new AccessTokens(settings);
    const { token } = await tokens.sign(user, randomUUID());
    assert.equal((await tokens.verify(token)).sub, user.id);
    assert.equal((await tokens.verify(token)).sub, user.id, 'served from the cache');

    mock.timers.tick(settings.accessTtlMs + 1000);
    await assert.rejects(tokens.verify(token), TokenExpiredError);
  });
});
