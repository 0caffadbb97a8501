import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSync } from 'otplib';
import {
  canonicalRecoveryCode,
  hashRecoveryCode,
  matchTotp,
  newRecoveryCode,
  newTotpSecret,
  totpUri,
} from '../../src/modules/auth/totp.js';
import { EnrolmentTokens } from '../../src/platform/auth/enrolment-tokens.js';
import { SealedSecrets } from '../../src/platform/auth/sealed-secrets.js';
import { AccessTokens } from '../../src/platform/auth/tokens.js';

const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);
const codeAt = (secret: string, ms: number) =>
  generateSync({ secret, epoch: Math.floor(ms / 1000) });

describe('TOTP codes', () => {
  const secret = newTotpSecret();

  it('when a secret is made, then it is 160 bits of base32 and the URI carries it and the issuer', () => {
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(totpUri(secret, 'Stratum Test', 'ada@example.com'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'Stratum Test');
    assert.match(decodeURIComponent(uri.pathname), /ada@example\.com$/);
  });

  it('when a code is of a step inside the window, then its step is returned; outside, nothing', () => {
    const step = Math.floor(T0 / 30_000);
    for (const [offset, window, expected] of [
      [0, 0, step],
      [-1, 1, step - 1],
      [1, 1, step + 1],
      [2, 1, undefined],
      [-2, 1, undefined],
      [-2, 2, step - 2],
    ] as const) {
      const code = codeAt(secret, T0 + offset * 30_000);
      assert.equal(matchTotp(secret, code, { window, nowMs: T0 }), expected, `${offset}/${window}`);
    }
  });

  it('when a step was already accepted, then its code and earlier ones are refused, later ones not', () => {
    const step = Math.floor(T0 / 30_000);
    const now = codeAt(secret, T0);
    assert.equal(matchTotp(secret, now, { window: 1, afterStep: step, nowMs: T0 }), undefined);
    const before = codeAt(secret, T0 - 30_000);
    assert.equal(matchTotp(secret, before, { window: 1, afterStep: step, nowMs: T0 }), undefined);
    const next = codeAt(secret, T0 + 30_000);
    assert.equal(matchTotp(secret, next, { window: 1, afterStep: step, nowMs: T0 }), step + 1);
  });

  it('when a code is not six digits, then it never matches', () => {
    for (const code of ['', '12345', '1234567', 'abcdef', ' 123456']) {
      assert.equal(matchTotp(secret, code, { window: 10, nowMs: T0 }), undefined);
    }
  });
});

describe('recovery codes', () => {
  it('when codes are made, then each is four groups of Crockford base32, and they differ', () => {
    const codes = Array.from({ length: 200 }, newRecoveryCode);
    for (const code of codes)
      assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    assert.equal(new Set(codes).size, codes.length);
  });

  it('when a code is typed in another case or spacing, then it hashes the same', () => {
    const code = newRecoveryCode();
    const typed = ` ${code.toLowerCase().replaceAll('-', ' ')} `;
    assert.equal(canonicalRecoveryCode(typed), code.replaceAll('-', ''));
    assert.equal(hashRecoveryCode(typed), hashRecoveryCode(code));
    assert.match(hashRecoveryCode(code), /^[0-9a-f]{64}$/);
  });
});

describe('sealed secrets', () => {
  const key = new TextEncoder().encode('a signing key that is long enough for tests');
  const box = new SealedSecrets(key, 'stratum:two-factor-secret:v1');

  it('when sealed and opened with the same context, then the value comes back', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    assert.ok(!sealed.toString('latin1').includes('JBSWY3DPEHPK3PXP'));
    assert.equal(box.open(sealed, 'user-1'), 'JBSWY3DPEHPK3PXP');
  });

  it('when the context, the key or the purpose differs, or a byte changed, then it does not open', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    assert.equal(box.open(sealed, 'user-2'), undefined);
    const otherKey = new SealedSecrets(
      new TextEncoder().encode('another key'),
      'stratum:two-factor-secret:v1',
    );
    assert.equal(otherKey.open(sealed, 'user-1'), undefined);
    assert.equal(new SealedSecrets(key, 'other purpose').open(sealed, 'user-1'), undefined);
    const tampered = Buffer.from(sealed);
    tampered[14] = tampered[14]! ^ 1;
    assert.equal(box.open(tampered, 'user-1'), undefined);
    assert.equal(box.open(Buffer.alloc(8), 'user-1'), undefined);
  });
});

describe('enrolment tokens', () => {
  const settings = {
    secret: new TextEncoder().encode('test-secret-that-is-at-least-32-bytes-long'),
    algorithm: 'HS256' as const,
    issuer: 'stratum',
    audience: 'stratum-api',
  };
  const enrolment = new EnrolmentTokens(settings, 300_000);
  const access = new AccessTokens({ ...settings, accessTtlMs: 900_000 });
  const userId = '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e01';

  it('when an enrolment token is verified as an access token, then it is refused', async () => {
    const token = enrolment.sign(userId);
    assert.equal(enrolment.verify(token).sub, userId);
    await assert.rejects(access.verify(token), { code: 'INVALID_TOKEN' });
  });

  it('when an access token is verified as an enrolment token, then it is refused', async () => {
    const { token } = await access.sign({ id: userId, role: 'admin' }, userId);
    assert.throws(() => enrolment.verify(token), { code: 'INVALID_TOKEN' });
  });
});
