import { hash, verify } from '@node-rs/argon2';

/** OWASP's argon2id settings: 19 MiB of memory, 2 iterations, 1 lane. */
const ARGON2_OPTIONS = {
  algorithm: 2, // Algorithm.Argon2id: a const enum, which isolated modules can't import
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the time of one verification, so unknown accounts answer as slowly as known ones. */
  verifyDummy(password: string): Promise<void>;
}

export class Argon2PasswordHasher implements PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  hash(password: string) {
    return hash(password, ARGON2_OPTIONS);
  }

  async verify(passwordHash: string, password: string) {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }

  async verifyDummy(password: string) {
    this.dummyHash ??= this.hash('dummy password for timing only');
    await this.verify(await this.dummyHash, password);
  }
}
