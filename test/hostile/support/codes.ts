/**
 * The documented error codes: every `code` a REST error envelope or a GraphQL error's
 * `extensions.code` may carry. Collected from the codes the source throws:
 * - src/platform/http/errors.ts (the AppError subclasses' defaults),
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
  // Users.
  'EMAIL_TAKEN',
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
  // GraphQL documents.
  'GRAPHQL_VALIDATION_FAILED',
  'QUERY_TOO_DEEP',
  'TOO_MANY_ALIASES',
  'QUERY_TOO_COMPLEX',
]);

/** Codes that are a fault of the server whatever the status says. */
export const SERVER_FAULT_CODES: ReadonlySet<string> = new Set(['INTERNAL_SERVER_ERROR']);
