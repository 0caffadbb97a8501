import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  AppError,
  BadRequestError,
  ConflictError,
  ERROR_CODE_LIST,
  ERROR_CODES,
  ForbiddenError,
  isErrorCode,
  NotFoundError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnprocessableError,
  ValidationError,
} from '../../src/platform/errors.js';
import { ErrorEnvelopeSchema } from '../../src/platform/http/envelope.js';
import { codeLiteralsInSource } from '../support/source-facts.js';

/**
 * The catalogue of error codes (src/platform/errors.ts) is the one list: AppError's code is
 * typed by it, which the compiler checks; these tests check what the types don't reach.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('the error code catalogue', () => {
  it('holds every code the sources write as a string literal', () => {
    const outside = [...codeLiteralsInSource()]
      .filter(([code]) => !isErrorCode(code))
      .map(([code, files]) => `${code} (${files.join(', ')})`);
    assert.deepEqual(outside, []);
  });

  it('lists only codes the sources answer with', () => {
    // The catalogue names its codes as bare keys: a quoted one is a use.
    const sources = sourceFiles(path.join(ROOT, 'src'))
      .map((file) => fs.readFileSync(file, 'utf8'))
      .join('\n');
    const unused = ERROR_CODE_LIST.filter((code) => !sources.includes(`'${code}'`));
    assert.deepEqual(unused, []);
  });

  it('is the enum of the error envelope in the OpenAPI documents', () => {
    const code = ErrorEnvelopeSchema.properties.error.properties.code as unknown as {
      type: string;
      enum: string[];
    };
    assert.equal(code.type, 'string');
    assert.deepEqual(code.enum, [...ERROR_CODE_LIST]);
  });

  it("gives each error class's code the status the catalogue says", () => {
    const errors: AppError[] = [
      new ValidationError('invalid'),
      new BadRequestError('INVALID_CURSOR', 'bad cursor'),
      new UnauthorizedError(),
      new UnauthorizedError('expired', 'TOKEN_EXPIRED'),
      new ForbiddenError(),
      new NotFoundError(),
      new ConflictError('taken', 'EMAIL_TAKEN'),
      new ConflictError('conflict'),
      new UnprocessableError('no wallet', 'NO_WALLET'),
      new ServiceUnavailableError(),
    ];
    for (const error of errors) {
      const entry: { status: number; alsoStatus?: readonly number[] } = ERROR_CODES[error.code];
      assert.ok(
        [entry.status, ...(entry.alsoStatus ?? [])].includes(error.statusCode),
        `${error.code} answers ${error.statusCode}`,
      );
    }
  });
});
