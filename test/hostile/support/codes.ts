import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES } from '../../../src/platform/errors.js';

/**
 * The documented error codes: every `code` a REST error envelope or a GraphQL error's
 * `extensions.code` may carry, which is the typed catalogue (ERROR_CODES in
 * src/platform/errors.ts; docs/reference/errors.md lists it, and a test keeps the two in step).
 * A code outside it is a finding: a client can't rely on it.
 */
export const DOCUMENTED_CODES: ReadonlySet<string> = new Set(Object.keys(ERROR_CODES));

/** Codes that are a fault of the server whatever the status says. */
export const SERVER_FAULT_CODES: ReadonlySet<string> = new Set(['INTERNAL_SERVER_ERROR']);

/**
 * The codes the source throws, read from src/: what an error's constructor or a code
 * table names. Compared with DOCUMENTED_CODES so that a new code shows up in the report until
 * it is in ERROR_CODES (and documented), and a listed one the source doesn't throw shows up too.
 */
export function codesInSource(
  root = path.resolve(import.meta.dirname, '../../../src'),
): Set<string> {
  const codes = new Set<string>();
  const patterns = [
    // new SomethingError(..., 'CODE'...) and new AppError(status, 'CODE', ...)
    /\b[A-Za-z]*Error\(\s*(?:[^()]|\([^()]*\))*?'([A-Z][A-Z0-9_]{2,})'/g,
    // { code: 'CODE' } in tables of known errors
    /\bcode:\s*'([A-Z][A-Z0-9_]{2,})'/g,
    // limitError('CODE', ...)
    /\blimitError\(\s*'([A-Z][A-Z0-9_]{2,})'/g,
    // super(503, 'CODE', ...) or super('CODE', ...) in an error class
    /\bsuper\(\s*(?:\d+,\s*)?'([A-Z][A-Z0-9_]{2,})'/g,
    // constructor(message = '...', code = 'CODE')
    /\bcode\s*=\s*'([A-Z][A-Z0-9_]{2,})'/g,
  ];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(full, 'utf8');
        for (const pattern of patterns) for (const m of text.matchAll(pattern)) codes.add(m[1]!);
      }
    }
  };
  walk(root);
  // Configuration errors name environment variables, not API codes.
  for (const code of [...codes])
    if (
      !/^[A-Z]+(_[A-Z]+)*$/.test(code) ||
      (/_(MS|URL|TTL|SECRET|TOKEN|PASSWORD|SUNSET)$/.test(code) && !DOCUMENTED_CODES.has(code))
    )
      codes.delete(code);
  return codes;
}

/** Codes the source throws that the list lacks, and listed codes the source doesn't throw. */
export function codeDrift(): { unlisted: string[]; unthrown: string[] } {
  const thrown = codesInSource();
  return {
    unlisted: [...thrown].filter((c) => !DOCUMENTED_CODES.has(c)).sort(),
    unthrown: [...DOCUMENTED_CODES].filter((c) => !thrown.has(c)).sort(),
  };
}
