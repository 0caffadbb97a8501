import assert from 'node:assert/strict';
import { createDecipheriv, randomUUID } from 'node:crypto';
import { afterEach, describe, it, mock } from 'node:test';
import { SignJWT } from 'jose';
import {
  AccessTokens,
  hashRefreshToken,
  InvalidTokenError,
  newRefreshToken,
  openSuccessor,
  sealSuccessor,
  TokenExpiredError,
} from '../../src/platform/auth/tokens.js';

const settings = {
  secret: new TextEncoder().encode('a-secret-of-at-least-thirty-two-bytes!'),
  algorithm: 'HS256' as const,
  issuer: 'stratum',
  audience: 'stratum-api',
  accessTtlMs: 60_000,
  clockSkewMs: 5_000,
};
const user = { id: randomUUID(), role: 'user' as const };
const nowS = () => Math.floor(Date.now() / 1000);

interface Forged {
  sub?: unknown;
  sid?: unknown;
  jti?: unknown;
  role?: unknown;
  iat?: unknown;
  exp?: unknown;
}

/** A token signed with the right key, the claims as given (the library would refuse odd ones). */
function forge(claims: Forged = {}) {
  const iat = nowS();
  const payload = {
    sub: user.id,
    sid: randomUUID(),
    jti: randomUUID(),
    role: 'user',
    iat,
    exp: iat + 60,
    iss: settings.issuer,
    aud: settings.audience,
    ...claims,
  };
  return new SignJWT(payload as Record<string, unknown>)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(settings.secret);
}

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

  it('when a cached token with a far exp outlives the TTL plus skew, then the next check refuses it', async () => {
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const tokens = new AccessTokens(settings);
    const token = await forge({ exp: nowS() + 86_400 });
    assert.equal((await tokens.verify(token)).sub, user.id);
    assert.equal((await tokens.verify(token)).sub, user.id, 'served from the cache');

    mock.timers.tick(settings.accessTtlMs + settings.clockSkewMs + 1000);
    await assert.rejects(tokens.verify(token), TokenExpiredError);
  });
});

describe('access-token claims', () => {
  const tokens = new AccessTokens(settings);

  it('when a token is signed, then it carries no email', async () => {
    const withEmail = { ...user, email: 'a@example.com' };
    const { token } = await tokens.sign(withEmail, randomUUID());
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as object;
    assert.deepEqual(Object.keys(payload).sort(), [
      'aud',
      'ev',
      'exp',
      'iat',
      'iss',
      'jti',
      'role',
      'sid',
      'sub',
    ]);
  });

  const malformed: [string, Forged][] = [
    ['sub is not a UUID', { sub: 'admin' }],
    ['sub is a number', { sub: 42 }],
    ['sub is an upper-case UUID', { sub: user.id.toUpperCase() }],
    ['sub is a UUID in braces', { sub: `{${user.id}}` }],
    ['sub is a UUID without hyphens', { sub: user.id.replaceAll('-', '') }],
    ['sid is not a UUID', { sid: 'x' }],
    ['jti is not a UUID', { jti: 'forged' }],
    ['role is unknown', { role: 'root' }],
    ['role is an array', { role: ['admin'] }],
    ['iat is not an integer', { iat: nowS() + 0.5 }],
    ['exp is not an integer', { exp: nowS() + 30.5 }],
  ];
  for (const [what, claims] of malformed) {
    it(`when ${what}, then the token is invalid`, async () => {
      await assert.rejects(tokens.verify(await forge(claims)), InvalidTokenError);
    });
  }

  it('when iat is later than now plus the skew, then the token is invalid', async () => {
    const iat = nowS() + 60;
    await assert.rejects(tokens.verify(await forge({ iat, exp: iat + 60 })), InvalidTokenError);
  });

  it('when iat is ahead by less than the skew, then the token is accepted', async () => {
    const iat = nowS() + 2;
    assert.equal((await tokens.verify(await forge({ iat, exp: iat + 60 }))).sub, user.id);
  });

  it('when exp lies far beyond the TTL and the token is older than TTL plus skew, then it has expired', async () => {
    const iat = nowS() - 70;
    await assert.rejects(tokens.verify(await forge({ iat, exp: iat + 86_400 })), TokenExpiredError);
  });

  it('when exp lies far beyond the TTL but the token is young, then it lives only until the bound', async () => {
    const iat = nowS() - 10;
    assert.equal((await tokens.verify(await forge({ iat, exp: iat + 86_400 }))).sub, user.id);
  });
});

describe('sealed refresh-token successor', () => {
  const family = randomUUID();

  it('when opened with the spent token, then it gives the successor back', () => {
    const spent = newRefreshToken();
    const successor = newRefreshToken();
    const sealed = sealSuccessor(spent, successor, family);
    assert.equal(openSuccessor(spent, sealed, family), successor);
  });

  it('when sealed twice, then the ciphertexts differ (a fresh IV each time)', () => {
    const spent = newRefreshToken();
    const successor = newRefreshToken();
    assert.notDeepEqual(
      sealSuccessor(spent, successor, family),
      sealSuccessor(spent, successor, family),
    );
  });

  it('when opened with another token, another family or a flipped bit, then nothing comes out', () => {
    const spent = newRefreshToken();
    const sealed = sealSuccessor(spent, newRefreshToken(), family);
    assert.equal(openSuccessor(newRefreshToken(), sealed, family), undefined);
    assert.equal(openSuccessor(spent, sealed, randomUUID()), undefined);
    const flipped = Buffer.from(sealed);
    flipped[14]! ^= 1;
    assert.equal(openSuccessor(spent, flipped, family), undefined);
    assert.equal(openSuccessor(spent, sealed.subarray(0, 20), family), undefined);
  });

  it('when only the stored token hash is known, then it does not open the successor', () => {
    const spent = newRefreshToken();
    const successor = newRefreshToken();
    const sealed = sealSuccessor(spent, successor, family);
    assert.ok(!sealed.toString('latin1').includes(successor));
    const decipher = createDecipheriv(
      'aes-256-gcm',
      Buffer.from(hashRefreshToken(spent), 'hex'),
      sealed.subarray(0, 12),
    );
    decipher.setAAD(Buffer.from(family));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    decipher.update(sealed.subarray(12, sealed.length - 16));
    assert.throws(() => decipher.final());
  });
});
