import { createHash, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verifySync } from 'otplib';

/**
 * TOTP (RFC 6238) as every authenticator app reads it from an otpauth:// URI: SHA-1, six
 * digits, 30-second steps. otplib does the arithmetic; this file fixes the parameters.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;

/** A new secret: 20 random bytes (RFC 4226's recommended 160 bits), base32. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app scans (as a QR code) or takes typed in. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return generateURI({
    issuer,
    label: account,
    secret,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}

/**
 * The time step `code` belongs to, if it is the secret's code for a step within `window`
 * steps of now (either side: the phone's clock may run ahead or behind) and later than
 * `afterStep` (the last step accepted: a code works once). Undefined otherwise.
 */
export function matchTotp(
  secret: string,
  code: string,
  options: { window: number; afterStep?: number; nowMs?: number },
): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const result = verifySync({
    secret,
    token: code,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    epoch: Math.floor((options.nowMs ?? Date.now()) / 1000),
    epochTolerance: options.window * TOTP_PERIOD_SECONDS,
    ...(options.afterStep === undefined ? {} : { afterTimeStep: options.afterStep }),
  });
  // The TOTP result names its step; the union type also covers HOTP's, which has none.
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/** Recovery codes: 10 of them, 80 random bits each, written XXXX-XXXX-XXXX-XXXX. */
export const RECOVERY_CODE_COUNT = 10;

// Crockford's base32 alphabet: no I, L, O or U to misread when typing a code off paper.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let text = '';
  for (let i = 0; i < 16; i++) {
    text = ALPHABET[Number(bits & 31n)]! + text;
    bits >>= 5n;
  }
  return text.match(/.{4}/g)!.join('-');
}

/** One spelling per code: case, spaces and dashes as typed don't matter. */
export function canonicalRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/**
 * SHA-256 of the canonical code. A fast hash is enough: a code is 80 random bits, which no
 * one tries by brute force against a stolen hash; a slow password hash protects low-entropy,
 * person-chosen secrets, and would only slow every sign-in with a recovery code.
 */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(canonicalRecoveryCode(code)).digest('hex');
}
