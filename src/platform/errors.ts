/**
 * Operational errors: expected failures with a status and a stable code. Services and
 * repositories throw them; the HTTP error handler (src/platform/http/error-handler.ts) and the
 * GraphQL formatter (src/graphql/errors.ts) turn them into answers. Nothing here knows HTTP's
 * framework: the status is a number the edge handlers send.
 */

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
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
  constructor(message = 'Authentication required', code = 'UNAUTHORIZED') {
    super(401, code, message, undefined, { 'www-authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this', code = 'FORBIDDEN') {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(resource = 'Resource', code = 'NOT_FOUND') {
    super(404, code, `${resource} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'CONFLICT', details?: unknown) {
    super(409, code, message, details);
  }
}

/** Well-formed, but a business rule refuses it (insufficient funds, a currency mismatch). */
export class UnprocessableError extends AppError {
  constructor(message: string, code: string, details?: unknown) {
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

/** A malformed request that schema validation can't describe, with a code of its own. */
export class BadRequestError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(400, code, message, details);
  }
}
