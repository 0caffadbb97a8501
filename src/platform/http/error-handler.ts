import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';
import {
  isDatabaseUnavailable,
  isForeignKeyViolation,
  isLockTimeout,
  isRetryableTransactionError,
} from '../db/errors.js';
import { errorEnvelope } from './envelope.js';
import {
  AppError,
  NotFoundError,
  ServiceUnavailableError,
  type ErrorCode,
  type FieldError,
} from '../errors.js';

interface AjvIssue {
  instancePath: string;
  schemaPath?: string;
  keyword?: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string; allowedValue?: unknown };
}

/** A branch's failure as the second half of "must … or …". */
function branchReason(issue: AjvIssue): string {
  if (issue.keyword === 'const') return `be ${JSON.stringify(issue.params?.allowedValue)}`;
  return (issue.message ?? 'be valid').replace(/^must /, '');
}

/**
 * An anyOf reports each alternative's failure and then its own ("must match a schema in
 * anyOf"): one detail per field instead, naming what the field may be, e.g. `params.id: must
 * match format "uuid" or be "me"`.
 */
function withAlternativesJoined(issues: AjvIssue[]): AjvIssue[] {
  const unions = issues.filter((issue) => issue.keyword === 'anyOf' && issue.schemaPath);
  if (unions.length === 0) return issues;
  const branchesOf = (union: AjvIssue) =>
    issues.filter(
      (issue) =>
        issue !== union &&
        issue.instancePath === union.instancePath &&
        issue.schemaPath?.startsWith(`${union.schemaPath}/`),
    );
  const branches = new Set(unions.flatMap(branchesOf));
  return issues
    .filter((issue) => !branches.has(issue))
    .map((issue) => {
      if (!unions.includes(issue)) return issue;
      // `…/anyOf/1/const`: the reasons of one alternative hold together, `and`.
      const byBranch = new Map<string, string[]>();
      for (const branch of branchesOf(issue)) {
        const index = branch.schemaPath!.slice(issue.schemaPath!.length + 1).split('/')[0]!;
        byBranch.set(index, [...(byBranch.get(index) ?? []), branchReason(branch)]);
      }
      const reasons = [...byBranch.values()].map((all) => all.join(' and '));
      return reasons.length ? { ...issue, message: `must ${reasons.join(' or ')}` } : issue;
    });
}

/** Per-field details from a schema validation failure, e.g. `body.email: must match format`. */
export function fieldErrors(context: string | undefined, issues: AjvIssue[]): FieldError[] {
  return withAlternativesJoined(issues).map((issue) => {
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
const frameworkErrors: Record<string, { status: number; code: ErrorCode; message: string }> = {
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
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    code: 'URI_TOO_LONG',
    message: 'A path segment is longer than any this API accepts',
  },
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
  if (isForeignKeyViolation(error)) {
    return new AppError(
      409,
      'CONFLICT',
      'Something this request refers to was removed meanwhile; nothing was written',
    );
  }
  // Contention that outlasted the retries: nothing was written, so the client may retry.
  if (isRetryableTransactionError(error) || isLockTimeout(error)) {
    return new ServiceUnavailableError('The request collided with others; retry it', 1);
  }
  // Other client errors raised by Fastify or its plugins keep their status.
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new AppError(status, 'BAD_REQUEST', error.message);
  return undefined;
}

function sendError(reply: FastifyReply, request: FastifyRequest, error: AppError) {
  if (error.headers) void reply.headers(error.headers);
  return reply.status(error.statusCode).send(errorEnvelope(request.id, error));
}

/** Errors as the client sees them, logged as we need to: the one place for HTTP answers. */
function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
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
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler(handleError);
}

/**
 * Unknown routes answer 404 in the envelope, and count against the rate limit like any
 * request (`limit` is the limiter's pre-handler): probing for paths is not free.
 */
export function registerNotFound(app: FastifyInstance, limit?: preHandlerAsyncHookHandler) {
  app.setNotFoundHandler({ preHandler: limit }, (request, reply) =>
    sendError(
      reply,
      request,
      new NotFoundError(`Route ${request.method} ${request.url.split('?')[0]}`, 'NOT_FOUND'),
    ),
  );
}

/**
 * Fastify's `frameworkErrors`: a URL it can't decode or a path segment past maxParamLength,
 * found before routing, so before the hooks that set the request id header.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  void reply.header('x-request-id', request.id);
  void handleError(error, request, reply);
}

// What Node reports for a request it could not even parse, and how this API names it.
const clientErrors: Record<string, { status: number; code: ErrorCode; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'REQUEST_TIMEOUT',
    message: 'The request was not received in time',
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'HEADERS_TOO_LARGE',
    message: 'The request headers are larger than the server accepts',
  },
};

/**
 * Fastify's `clientErrorHandler`: answers a request Node refused before Fastify saw it (a
 * malformed request line, headers too large, a body that didn't arrive in time), in the same
 * envelope as every other error, then closes the connection as Node would.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = (error.code && clientErrors[error.code]) || {
    status: 400,
    code: 'BAD_REQUEST' as const,
    message: 'The request is not valid HTTP',
  };
  const requestId = randomUUID();
  const body = JSON.stringify(
    errorEnvelope(requestId, new AppError(known.status, known.code, known.message)),
  );
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\n` +
        `content-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
