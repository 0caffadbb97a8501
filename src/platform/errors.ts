/**
 * Operational errors: expected failures with a status and a stable code. Services and
 * repositories throw them; the HTTP error handler (src/platform/http/error-handler.ts) and the
 * GraphQL formatter (src/graphql/errors.ts) turn them into answers. Nothing here knows HTTP's
 * framework: the status is a number the edge handlers send.
 */

/** What the catalogue knows of a code: the HTTP status it is answered with. */
export interface ErrorCodeEntry {
  /** The status REST answers with (GraphQL: see src/graphql/errors.ts). */
  readonly status: number;
  /** Other statuses the same code is answered with, where one place answers it differently. */
  readonly alsoStatus?: readonly number[];
}

/**
 * Every code the service answers, in REST's error envelope (`error.code`) and in GraphQL's
 * `errors[].extensions.code`, with its status. An AppError's `code` is an ErrorCode, so a code
 * outside this list doesn't compile; the OpenAPI documents list these as the envelope's enum,
 * and docs/reference/errors.md documents each (test/docs/docs.test.ts holds it to this list).
 */
export const ERROR_CODES = {
  // Request format.
  VALIDATION_ERROR: { status: 400 },
  INVALID_JSON: { status: 400 },
  UNSUPPORTED_CONTENT_TYPE: { status: 400 },
  /** Other client errors raised by Fastify or a plugin keep their own 4xx with this code. */
  BAD_REQUEST: { status: 400 },
  UNSUPPORTED_API_VERSION: { status: 400 },
  INVALID_CURSOR: { status: 400 },
  WEAK_PASSWORD: { status: 400 },
  METHOD_NOT_ALLOWED: { status: 405 },
  REQUEST_TIMEOUT: { status: 408 },
  PAYLOAD_TOO_LARGE: { status: 413 },
  URI_TOO_LONG: { status: 414 },
  HEADERS_TOO_LARGE: { status: 431 },
  // Authentication and permissions.
  UNAUTHORIZED: { status: 401 },
  INVALID_TOKEN: { status: 401 },
  TOKEN_EXPIRED: { status: 401 },
  INVALID_CREDENTIALS: { status: 401 },
  REFRESH_TOKEN_REUSED: { status: 401 },
  FORBIDDEN: { status: 403 },
  ACCOUNT_SUSPENDED: { status: 403 },
  INVALID_CURRENT_PASSWORD: { status: 403 },
  /** The admin pages' form posts without this site's Origin or Referer. */
  CROSS_SITE_REQUEST: { status: 403 },
  // Resources.
  NOT_FOUND: { status: 404 },
  ACCOUNT_NOT_FOUND: { status: 404 },
  SESSION_NOT_FOUND: { status: 404 },
  EMAIL_TAKEN: { status: 409 },
  LAST_ADMIN: { status: 409 },
  CONFLICT: { status: 409 },
  IDEMPOTENCY_KEY_IN_USE: { status: 409 },
  ORDER_ALREADY_CANCELLED: { status: 409 },
  ORDER_NOT_CANCELLABLE: { status: 409 },
  REFUND_FAILED: { status: 409 },
  /** A hold already captured or voided. */
  HOLD_NOT_PENDING: { status: 409 },
  /** A hold past its expiry: never captured, its funds released. */
  HOLD_EXPIRED: { status: 409 },
  // Money and orders.
  /** 422 for a transfer; 402 for an order, which is kept as payment_failed. */
  INSUFFICIENT_FUNDS: { status: 422, alsoStatus: [402] },
  CURRENCY_MISMATCH: { status: 422 },
  INVALID_DESTINATION: { status: 422 },
  UNSUPPORTED_CURRENCY: { status: 422 },
  NO_WALLET: { status: 422 },
  PRODUCT_UNAVAILABLE: { status: 422 },
  ORDER_TOO_LARGE: { status: 422 },
  IDEMPOTENCY_KEY_REUSED: { status: 422 },
  CAPTURE_EXCEEDS_HOLD: { status: 422 },
  // Limits and failures.
  RATE_LIMITED: { status: 429 },
  INTERNAL_SERVER_ERROR: { status: 500 },
  SERVICE_UNAVAILABLE: { status: 503 },
  /** Refused at once by the load shedder: the process is over a limit (docs/patterns/load-shedding.md). */
  OVERLOADED: { status: 503 },
  // GraphQL documents: 400 for application/graphql-response+json clients, 200 for JSON ones.
  GRAPHQL_VALIDATION_FAILED: { status: 400, alsoStatus: [200] },
  QUERY_TOO_DEEP: { status: 400, alsoStatus: [200] },
  TOO_MANY_ALIASES: { status: 400, alsoStatus: [200] },
  QUERY_TOO_COMPLEX: { status: 400, alsoStatus: [200] },
  // Account emails: a link's token unknown, expired, spent or of another purpose (one answer).
  INVALID_ACCOUNT_TOKEN: { status: 400 },
  EMAIL_ALREADY_VERIFIED: { status: 409 },
  /** Money moves (deposits, transfers, orders) need a verified email (REQUIRE_VERIFIED_EMAIL). */
  EMAIL_NOT_VERIFIED: { status: 403 },
  RESPONSE_TOO_LARGE: { status: 400, alsoStatus: [200] },
  // OpenID Connect sign-in.
  OIDC_STATE_INVALID: { status: 400 },
  OIDC_SIGN_IN_FAILED: { status: 401 },
  OIDC_EMAIL_REQUIRED: { status: 403 },
  OIDC_EMAIL_NOT_VERIFIED: { status: 403 },
  OIDC_ACCOUNT_NOT_VERIFIED: { status: 409 },
  OIDC_PROVIDER_UNAVAILABLE: { status: 502 },
  // Two-factor sign-in. A wrong or spent code is 401 at sign-in, 403 to a signed-in caller
  // (confirming or disabling enrolment), like a wrong current password.
  INVALID_TWO_FACTOR_CODE: { status: 401, alsoStatus: [403] },
  TWO_FACTOR_CODE_USED: { status: 401, alsoStatus: [403] },
  TWO_FACTOR_ENROLMENT_REQUIRED: { status: 403 },
  TWO_FACTOR_ALREADY_ENABLED: { status: 409 },
  TWO_FACTOR_NOT_ENABLED: { status: 409 },
  TWO_FACTOR_NOT_PENDING: { status: 409 },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The catalogue's codes, in its order. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The codes the catalogue answers with `status` as their usual status. */
export type ErrorCodeWithStatus<S extends number> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends S ? C : never;
}[ErrorCode];

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: FieldError[] = []) {
    super(400, 'VALIDATION_ERROR', message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(
    message = 'Authentication required',
    code: ErrorCodeWithStatus<401> = 'UNAUTHORIZED',
  ) {
    super(401, code, message, undefined, { 'www-authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends AppError {
  constructor(
    message = 'You are not allowed to do this',
    code: ErrorCodeWithStatus<403> = 'FORBIDDEN',
  ) {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(resource = 'Resource', code: ErrorCodeWithStatus<404> = 'NOT_FOUND') {
    super(404, code, `${resource} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code: ErrorCodeWithStatus<409> = 'CONFLICT', details?: unknown) {
    super(409, code, message, details);
  }
}

/** Well-formed, but a business rule refuses it (insufficient funds, a currency mismatch). */
export class UnprocessableError extends AppError {
  constructor(message: string, code: ErrorCodeWithStatus<422>, details?: unknown) {
    super(422, code, message, details);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = 'Service temporarily unavailable', retryAfterSeconds = 1) {
    super(503, 'SERVICE_UNAVAILABLE', message, undefined, {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/** Refused before any work by the load shedder, with the Retry-After it advises. */
export class OverloadedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super(503, 'OVERLOADED', 'The service is overloaded; retry shortly', undefined, {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/** A malformed request that schema validation can't describe, with a code of its own. */
export class BadRequestError extends AppError {
  constructor(code: ErrorCodeWithStatus<400>, message: string, details?: unknown) {
    super(400, code, message, details);
  }
}
