import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The documented error codes: every `code` a REST error envelope or a GraphQL error's
 * `extensions.code` may carry. Collected from the codes the source throws:
 * - src/platform/errors.ts (the AppError subclasses' defaults),
 * - src/platform/http/error-handler.ts (Fastify's client errors, validation, 500),
 * - src/graphql/errors.ts and src/graphql/limits.ts (document faults and limits),
 * - src/platform/http/rate-limit.ts, versioning.ts, cursor.ts, platform/idempotency,
 * - the services under src/modules (the second argument of their errors).
 * A code outside this list is a finding: either a client can't rely on it, or it belongs here
 * (and in the API's documentation).
 */
export const DOCUMENTED_CODES: ReadonlySet<string> = new Set([
  // Generic HTTP classes.
  'BAD_REQUEST',
  'VALIDATION_ERROR',
  'INVALID_JSON',
  'UNSUPPORTED_CONTENT_TYPE',
  'PAYLOAD_TOO_LARGE',
  'URI_TOO_LONG',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
  'UNSUPPORTED_API_VERSION',
  'INVALID_CURSOR',
  // Authentication.
  'INVALID_TOKEN',
  'TOKEN_EXPIRED',
  'INVALID_CREDENTIALS',
  'INVALID_CURRENT_PASSWORD',
  'ACCOUNT_SUSPENDED',
  'REFRESH_TOKEN_REUSED',
  'WEAK_PASSWORD',
  // Users.
  'EMAIL_TAKEN',
  'LAST_ADMIN',
  // Idempotency.
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_USE',
  // Ledger and orders.
  'ACCOUNT_NOT_FOUND',
  'INSUFFICIENT_FUNDS',
  'CURRENCY_MISMATCH',
  'UNSUPPORTED_CURRENCY',
  'INVALID_DESTINATION',
  'NO_WALLET',
  'PRODUCT_UNAVAILABLE',
  'ORDER_TOO_LARGE',
  'ORDER_ALREADY_CANCELLED',
  'ORDER_NOT_CANCELLABLE',
  'REFUND_FAILED',
  // Two-factor sign-in.
  'INVALID_TWO_FACTOR_CODE',
  'TWO_FACTOR_CODE_USED',
  'TWO_FACTOR_ENROLMENT_REQUIRED',
  'TWO_FACTOR_ALREADY_ENABLED',
  'TWO_FACTOR_NOT_ENABLED',
  'TWO_FACTOR_NOT_PENDING',
  // GraphQL documents.
  'GRAPHQL_VALIDATION_FAILED',
  'QUERY_TOO_DEEP',
  'TOO_MANY_ALIASES',
  'QUERY_TOO_COMPLEX',
  'RESPONSE_TOO_LARGE',
  // Account emails (verification, reset, email change).
  'INVALID_ACCOUNT_TOKEN',
  'EMAIL_ALREADY_VERIFIED',
  'EMAIL_NOT_VERIFIED',
]);

/** Codes that are a fault of the server whatever the status says. */
export const SERVER_FAULT_CODES: ReadonlySet<string> = new Set(['INTERNAL_SERVER_ERROR']);

/**
 * The codes the source throws, read from src/: what an error's constructor or a code
 * table names. Compared with DOCUMENTED_CODES so that a new code shows up in the report until
 * it is listed (and documented), and a listed one the source doesn't throw shows up too.
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
