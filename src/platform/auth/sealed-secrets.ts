import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM under `key`: a random IV, the ciphertext and the tag, in one buffer. `context` is
 * authenticated with the value, so a sealed value moved to another owner does not open.
 */
export function seal(key: Uint8Array, plaintext: string, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** What `seal` sealed, or undefined when the key or the context don't fit. */
export function open(key: Uint8Array, sealed: Uint8Array, context: string): string | undefined {
  if (sealed.length <= IV_BYTES + TAG_BYTES) return undefined;
  const bytes = Buffer.from(sealed);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const body = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * Secrets the service must read back (a TOTP secret: it is needed to compute the expected
 * code, so it can't be hashed), sealed with AES-256-GCM. The key is derived from the signing
 * key with HKDF and a `purpose` of its own, so it is never the JWT key itself and each use has
 * its own key. A `context` (the owner's id) is authenticated with each value: a sealed value
 * moved to another row does not open.
 *
 * A reader of the database alone learns nothing; changing JWT_SECRET makes every sealed value
 * unreadable (those accounts enrol again), as it ends every session anyway.
 */
export class SealedSecrets {
  private readonly key: Buffer;

  constructor(signingKey: Uint8Array, purpose: string) {
    this.key = Buffer.from(hkdfSync('sha256', signingKey, 'stratum', purpose, 32));
  }

  seal(plaintext: string, context: string): Buffer {
    return seal(this.key, plaintext, context);
  }

  /** The plaintext, or undefined when the value was sealed under another key or context. */
  open(sealed: Uint8Array, context: string): string | undefined {
    return open(this.key, sealed, context);
  }
}
