import fs from 'node:fs';
import path from 'node:path';
import { ERROR_CODE_LIST } from '../../src/platform/errors.js';

/**
 * Facts read from the sources that documentation and examples must keep up with: the
 * environment variables src/config.ts reads, the error codes the service can answer (its
 * catalogue), and the npm scripts.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const CONFIG = path.join(ROOT, 'src/config.ts');

const CATALOGUE = 'src/platform/errors.ts';

const configSource = () => fs.readFileSync(CONFIG, 'utf8');

/**
 * Every variable src/config.ts reads, in order. Calls may wrap over lines (prettier breaks the
 * long ones), so whitespace includes newlines.
 */
export function configVariables(): string[] {
  return [...configSource().matchAll(/\bread\(\s*env,\s*'([A-Z0-9_]+)'/g)].map((m) => m[1]!);
}

/** How many `read(` calls src/config.ts makes: one not naming a literal escapes the list above. */
export function configReadCalls(): number {
  return (configSource().match(/\bread\(/g) ?? []).length;
}

/** The scripts of package.json, by name. */
export function npmScripts(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return Object.keys(pkg.scripts);
}

const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The string literals ('…' or "…") between the parentheses that open at `open`, nested ones too. */
function literalsInCall(text: string, open: number): string[] {
  const found: string[] = [];
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      if (c !== '`') found.push(text.slice(i + 1, j));
      i = j;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) break;
  }
  return found;
}

/**
 * Every error code the service can answer: the catalogue of src/platform/errors.ts, each with
 * the file that lists it. AppError's `code` (and every code table of the HTTP and GraphQL edge
 * handlers) is typed as the catalogue's ErrorCode, so a code outside it doesn't compile;
 * codeLiteralsInSource() below finds a code written where the type doesn't reach.
 */
export function errorCodes(): Map<string, string[]> {
  return new Map(ERROR_CODE_LIST.map((code) => [code, [CATALOGUE]]));
}

/**
 * Every code-like string literal the sources write where an error code goes (src/config.ts
 * aside: its errors name environment variables and stop start-up), with the files it is in:
 * - the arguments of an error's construction: `new ConflictError('…', 'EMAIL_TAKEN')`,
 *   `new AppError(429, 'RATE_LIMITED', …)`, `super(400, 'VALIDATION_ERROR', …)` in an error
 *   class, `limitError('QUERY_TOO_DEEP', …)` (GraphQL);
 * - a `code` property or default: `{ status: 413, code: 'PAYLOAD_TOO_LARGE' }` in the tables of
 *   the HTTP and GraphQL edge handlers, `extensions: { code: 'RESPONSE_TOO_LARGE' }`,
 *   `code = 'UNAUTHORIZED'` as a constructor's default, `code ?? 'GRAPHQL_VALIDATION_FAILED'`.
 * Each must be in the catalogue: the types make most of them so, this catches the rest.
 */
export function codeLiteralsInSource(): Map<string, string[]> {
  const codes = new Map<string, string[]>();
  const add = (code: string, file: string) => {
    if (!CODE.test(code)) return;
    const where = path.relative(ROOT, file);
    codes.set(code, [...new Set([...(codes.get(code) ?? []), where])]);
  };
  for (const file of tsFiles(path.join(ROOT, 'src'))) {
    if (file === CONFIG) continue;
    const text = fs.readFileSync(file, 'utf8');
    // `code: 'X'`, `code = 'X'`, `code ?? 'X'`, and a typed default `code: SomeType<401> = 'X'`.
    const assigned = /\bcode\s*(?::\s*[\w<>]+\s*=|:|=|\?\?)\s*['"]([A-Z][A-Z0-9_]*)['"]/g;
    for (const m of text.matchAll(assigned)) {
      add(m[1]!, file);
    }
    const calls = /(?:\bnew\s+[A-Z]\w*Error|\bsuper|\blimitError)\s*\(/g;
    for (const m of text.matchAll(calls)) {
      const open = m.index + m[0].length - 1;
      for (const literal of literalsInCall(text, open)) add(literal, file);
    }
  }
  return codes;
}
