import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable, isLockTimeout, isRetryableTransactionError } from '../db/errors.js';
import { meta } from './envelope.js';
import { AppError, NotFoundError, ServiceUnavailableError, type FieldError } from './errors.js';

interface AjvIssue {
  instancePath: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string };
}

/** Per-field details from a schema validation failure, e.g. `body.email: must match format`. */
export function fieldErrors(context: string | undefined, issues: AjvIssue[]): FieldError[] {
  return issues.map((issue) => {
    const segments = issue.instancePath.split('/').filter(Boolean);
    const extra = issue.params?.missingProperty ?? issue.params?.additionalProperty;
    if (extra) segments.push(extra);
    const field = [context, ...segments].filter(Boolean).join('.') || (context ?? 'request');
    const message = issue.params?.additionalProperty
      ? 'is not allowed'
      : (issue.message ?? 'is invalid');
    return { field, message };
  });
}

// Fastify's own client errors, named with the codes of this API.
const frameworkErrors: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'Request body is too large',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 400,
    code: 'UNSUPPORTED_CONTENT_TYPE',
    message: 'Content-Type must be application/json',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'INVALID_JSON',
    message: 'Body is empty but Content-Type is application/json',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'INVALID_JSON',
    message: 'Body is not valid JSON',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'BAD_REQUEST',
    message: 'Content-Length does not match the body',
  },
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_REQUEST', message: 'Malformed URL' },
};

/** What an error means to a client, or undefined for a fault of ours (a 500). */
export function toAppError(error: FastifyError): AppError | undefined {
  if (error instanceof AppError) return error;
  if (error.validation) {
    return new AppError(
      400,
      'VALIDATION_ERROR',
      'Request is invalid',
      fieldErrors(error.validationContext, error.validation),
    );
  }
  const known = error.code ? frameworkErrors[error.code] : undefined;
  if (known) return new AppError(known.status, known.code, known.message);
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new AppError(400, 'INVALID_JSON', 'Body is not valid JSON');
  }
  if (isDatabaseUnavailable(error)) return new ServiceUnavailableError();
  // Contention that outlasted the retries: nothing was written, so the client may retry.
  if (isRetryableTransactionError(error) || isLockTimeout(error)) {
    return new ServiceUnavailableError('The request collided with others; retry it', 1);
  }
  // Other client errors raised by Fastify or its plugins keep their status.
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new AppError(status, 'BAD_REQUEST', error.message);
  return undefined;
}

/** The error envelope of an AppError (also stored by idempotent requests that end in one). */
export function errorEnvelope(request: FastifyRequest, error: AppError) {
  const body: { code: string; message: string; details?: unknown } = {
    code: error.code,
    message: error.message,
  };
  if (error.details !== undefined) body.details = error.details;
  return { error: body, meta: meta(request) };
}

function sendError(reply: FastifyReply, request: FastifyRequest, error: AppError) {
  if (error.headers) void reply.headers(error.headers);
  return reply.status(error.statusCode).send(errorEnvelope(request, error));
}

/** The one place where errors become HTTP responses. */
export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error);
    if (appError) {
      if (appError.statusCode >= 500) request.log.warn({ err: error }, appError.message);
      return sendError(reply, request, appError);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(
      reply,
      request,
      new AppError(500, 'INTERNAL_SERVER_ERROR', 'Something went wrong on our side'),
    );
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      request,
      new NotFoundError(`Route ${request.method} ${request.url.split('?')[0]}`, 'NOT_FOUND'),
    ),
  );
}
