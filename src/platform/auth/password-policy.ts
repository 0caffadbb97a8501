import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.js';

/**
 * Refuses passwords an attacker tries first: common and breached ones, and the user's own email
 * address or name. The length rule (passwords.ts) is checked elsewhere; this one assumes it.
 */

export type PasswordProblemReason = 'common' | 'email' | 'name';

export interface PasswordProblem {
  reason: PasswordProblemReason;
}

export interface PasswordContext {
  email?: string;
  name?: string;
}

/**
 * The list ships as a plain file outside src/, because tsc copies no other files to dist/. This
 * module sits three levels below the repository root both as src/platform/auth/*.ts (tsx) and as
 * dist/platform/auth/*.js (built), so one relative URL finds it from both.
 */
const COMMON_PASSWORDS_FILE = new URL('../../../assets/common-passwords.txt', import.meta.url);

/** ASVS asks for at least this many; fewer means a truncated or wrong file, not a short list. */
const MIN_COMMON_PASSWORDS = 3_000;

/** Below this, a local part or a name ("al", "bob") is inside too many good passwords to forbid. */
const MIN_PERSONAL_LENGTH = 4;

const MESSAGES: Record<PasswordProblemReason, string> = {
  common: 'This password is too common; choose another',
  email: 'The password must not contain your email address',
  name: 'The password must not be your name',
};

export class WeakPasswordError extends AppError {
  constructor(readonly problem: PasswordProblem) {
    super(400, 'WEAK_PASSWORD', MESSAGES[problem.reason], { reason: problem.reason });
  }
}

/** NFKC folds look-alikes (full-width letters, ligatures) so that they can't slip past the list. */
const normalise = (text: string) => text.normalize('NFKC').toLowerCase();

/**
 * Reads a list file: one password a line, `#` lines and blank lines skipped. Throws, naming the
 * file, when it can't be read or holds too few entries: accepting every password because the
 * list is missing would fail silently.
 */
export function readCommonPasswords(file: URL): ReadonlySet<string> {
  const path = fileURLToPath(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`The common-password list can't be read from ${path}`, { cause: err });
  }
  const passwords = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    passwords.add(normalise(line));
  }
  if (passwords.size < MIN_COMMON_PASSWORDS) {
    throw new Error(
      `The common-password list at ${path} has ${passwords.size} entries; at least ${MIN_COMMON_PASSWORDS} are expected`,
    );
  }
  return passwords;
}

let commonPasswords: ReadonlySet<string> | undefined;

/**
 * The shipped list, read once on first use. Calling it at startup moves that cost out of the
 * first request and makes a missing file fail the boot rather than a sign-up.
 */
export function loadCommonPasswords(): ReadonlySet<string> {
  commonPasswords ??= readCommonPasswords(COMMON_PASSWORDS_FILE);
  return commonPasswords;
}

/**
 * The first reason to refuse the password, or undefined when none applies. The personal rules
 * come first: their message tells the user more than "too common" does.
 */
export function checkPasswordPolicy(
  password: string,
  context: PasswordContext,
): PasswordProblem | undefined {
  const candidate = normalise(password);

  const email = context.email === undefined ? '' : normalise(context.email.trim());
  if (email !== '') {
    if (candidate.includes(email)) return { reason: 'email' };
    const at = email.lastIndexOf('@');
    const localPart = at === -1 ? email : email.slice(0, at);
    if ([...localPart].length >= MIN_PERSONAL_LENGTH && candidate.includes(localPart)) {
      return { reason: 'email' };
    }
  }

  const name = context.name === undefined ? '' : normalise(context.name.trim());
  if ([...name].length >= MIN_PERSONAL_LENGTH && candidate === name) return { reason: 'name' };

  if (loadCommonPasswords().has(candidate)) return { reason: 'common' };
  return undefined;
}
