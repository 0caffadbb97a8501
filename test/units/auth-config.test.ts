import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { resolveJwtSecret } from '../../src/platform/auth/secret.js';

describe('JWT secret', () => {
  it('when NODE_ENV is production and JWT_SECRET is missing, then start-up is refused', () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production' }),
      (err: ConfigError) => {
        assert.equal(err.variable, 'JWT_SECRET');
        return true;
      },
    );
  });

  it('when NODE_ENV is production and JWT_SECRET is shorter than 32 bytes, then start-up is refused', () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(31) }),
      /JWT_SECRET: must be at least 32 bytes/,
    );
    assert.equal(
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwtSecret,
      'x'.repeat(32),
    );
  });

  it('when no JWT_SECRET is set outside production, then one is generated once and kept', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-secret-'));
    const first = resolveJwtSecret(undefined, dir);
    const second = resolveJwtSecret(undefined, dir);
    assert.ok(first.length >= 32);
    assert.deepEqual(first, second);
    assert.equal(fs.statSync(path.join(dir, 'jwt-secret')).mode & 0o777, 0o600);
  });

  it('when auth durations are given, then 15m, 900 and 7d are understood', () => {
    const config = loadConfig({ JWT_ACCESS_TTL: '15m', JWT_REFRESH_TTL: '7d' });
    assert.equal(config.jwtAccessTtlMs, 900_000);
    assert.equal(config.jwtRefreshTtlMs, 7 * 86_400_000);
    assert.equal(loadConfig({ JWT_ACCESS_TTL: '900' }).jwtAccessTtlMs, 900_000);
    assert.throws(() => loadConfig({ JWT_ACCESS_TTL: 'soon' }), /JWT_ACCESS_TTL/);
  });

  it('when JWT_CLOCK_SKEW is unset, then it is 30 s; when set, then it must stay within 5 minutes', () => {
    assert.equal(loadConfig({}).jwtClockSkewMs, 30_000);
    assert.equal(loadConfig({ JWT_CLOCK_SKEW: '2m' }).jwtClockSkewMs, 120_000);
    assert.equal(loadConfig({ JWT_CLOCK_SKEW: '0' }).jwtClockSkewMs, 0);
    assert.throws(() => loadConfig({ JWT_CLOCK_SKEW: '301s' }), /JWT_CLOCK_SKEW/);
  });

  it('when JWT_REFRESH_REUSE_GRACE is unset, then it is 5 s; 0 turns it off, 500ms is understood and more than 60 s refused', () => {
    assert.equal(loadConfig({}).jwtRefreshReuseGraceMs, 5_000);
    assert.equal(loadConfig({ JWT_REFRESH_REUSE_GRACE: '0' }).jwtRefreshReuseGraceMs, 0);
    assert.equal(loadConfig({ JWT_REFRESH_REUSE_GRACE: '500ms' }).jwtRefreshReuseGraceMs, 500);
    assert.equal(loadConfig({ JWT_REFRESH_REUSE_GRACE: '1m' }).jwtRefreshReuseGraceMs, 60_000);
    assert.throws(
      () => loadConfig({ JWT_REFRESH_REUSE_GRACE: '61s' }),
      /JWT_REFRESH_REUSE_GRACE: must be between 0s and 60s/,
    );
  });

  it('when ADMIN_EMAIL is set without ADMIN_PASSWORD, then start-up is refused', () => {
    assert.throws(() => loadConfig({ ADMIN_EMAIL: 'a@example.com' }), /ADMIN_PASSWORD/);
  });

  it('when ADMIN_PASSWORD is short, common or made of the email, then start-up is refused', () => {
    const email = 'operator@example.com';
    for (const [password, reason] of [
      ['short', /8 to 128 characters/],
      ['password123', /too common/],
      ['my operator secret', /email address/],
    ] as const) {
      assert.throws(
        () => loadConfig({ ADMIN_EMAIL: email, ADMIN_PASSWORD: password }),
        new RegExp(`ADMIN_PASSWORD: .*${reason.source}`),
      );
    }
  });

  it('when ADMIN_EMAIL is in capitals, then it is kept in lower case; when it is not an email, refused', () => {
    const config = loadConfig({
      ADMIN_EMAIL: 'Operator@Example.COM',
      ADMIN_PASSWORD: 'a passphrase nobody uses',
    });
    assert.equal(config.adminEmail, 'operator@example.com');
    for (const bad of ['operator', 'op@', 'öp@example.com', 'op@example']) {
      assert.throws(
        () => loadConfig({ ADMIN_EMAIL: bad, ADMIN_PASSWORD: 'a passphrase nobody uses' }),
        /ADMIN_EMAIL: must be an email address/,
      );
    }
  });

  it('when login throttling is configured, then the account budget and familiar window are read', () => {
    const config = loadConfig({ LOGIN_ACCOUNT_MAX_FAILURES: '7', LOGIN_FAMILIAR_TTL: '2d' });
    assert.equal(config.loginAccountMaxFailures, 7);
    assert.equal(config.loginFamiliarTtlMs, 2 * 86_400_000);
    assert.throws(
      () => loadConfig({ LOGIN_ACCOUNT_MAX_FAILURES: '0' }),
      /LOGIN_ACCOUNT_MAX_FAILURES/,
    );
  });
});
