import type { FastifyError, FastifyReply } from 'fastify';
import { GraphQLError, type ExecutionResult, type SourceLocation } from 'graphql';
import type { MercuriusContext } from 'mercurius';
import { toAppError } from '../platform/http/error-handler.js';
import { errorFields } from '../platform/http/envelope.js';
import { AppError, isErrorCode, type ErrorCode } from '../platform/errors.js';
import { wantsGraphqlResponse } from './media.js';

/**
 * The GraphQL error formatter: the one place, besides the Fastify error handler, where errors
 * become responses. Service errors keep their REST code in `extensions.code` (with `details`);
 * the document's own faults are GRAPHQL_VALIDATION_FAILED, or the limit's code (QUERY_TOO_DEEP,
 * TOO_MANY_ALIASES, QUERY_TOO_COMPLEX); anything unexpected is logged and answered as
 * INTERNAL_SERVER_ERROR without detail.
 *
 * Status codes follow GraphQL over HTTP: once the operation ran, 200 (errors sit next to the
 * data); a document that doesn't parse, validate or fit the limits is 400 for clients that
 * accept application/graphql-response+json and 200 for plain application/json ones; what
 * fails before GraphQL (a bad token, the rate limit, malformed JSON) keeps its HTTP status.
 */

interface FormattedError {
  message: string;
  locations?: readonly SourceLocation[];
  path?: readonly (string | number)[];
  extensions: { code: ErrorCode; details?: unknown };
}

/** A problem of the HTTP request itself, answered with its own status like REST answers it. */
interface Described {
  error: FormattedError;
  http?: AppError;
}

const INTERNAL = new AppError(500, 'INTERNAL_SERVER_ERROR', 'Something went wrong on our side');

// mercurius' own request errors, named with this API's codes.
const mercuriusCodes: Record<string, { status: number; code: ErrorCode }> = {
  MER_ERR_GQL_VALIDATION: { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND: { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  MER_ERR_METHOD_NOT_ALLOWED: { status: 405, code: 'METHOD_NOT_ALLOWED' },
};

/** REST's error fields, as GraphQL places them: the message at the top, the rest in extensions. */
function fromAppError(error: AppError, where?: GraphQLError): FormattedError {
  const { message, ...extensions } = errorFields(error);
  return { message, locations: where?.locations, path: where?.path, extensions };
}

/**
 * An error's extensions. graphql-jit makes some errors (a variable's coercion) with a GraphQLError
 * of its own making that has none.
 */
function extensionsOf(error: GraphQLError): Partial<GraphQLError['extensions']> {
  const extensions: GraphQLError['extensions'] | undefined = error.extensions;
  return extensions ?? {};
}

function documentError(error: GraphQLError): FormattedError {
  // Codes come from the limits (limitError) and the response-size guard, all in the catalogue.
  const { code, details } = extensionsOf(error);
  return {
    message: error.message,
    locations: error.locations,
    extensions: { code: isErrorCode(code) ? code : 'GRAPHQL_VALIDATION_FAILED', details },
  };
}

function describeCause(cause: Error, wrapper: FastifyError | undefined, log: Logger): Described {
  if (cause instanceof GraphQLError) return { error: documentError(cause) };
  const known = wrapper?.code ? mercuriusCodes[wrapper.code] : undefined;
  const appError = toAppError(cause as FastifyError);
  // A schema failure of the HTTP request (say, a non-string query) is REST's VALIDATION_ERROR.
  if (appError && (cause as FastifyError).validation) return http(appError);
  if (known && known.status !== 400)
    return http(new AppError(known.status, known.code, cause.message));
  if (known) return { error: { message: cause.message, extensions: { code: known.code } } };
  if (appError) return http(appError);
  log.error({ err: cause }, 'unhandled error');
  return http(INTERNAL);
}

type Logger = FastifyReply['log'];

const http = (appError: AppError): Described => ({ error: fromAppError(appError), http: appError });

function describe(error: GraphQLError, executed: boolean, log: Logger): Described[] {
  const original = error.originalError as (FastifyError & { errors?: Error[] }) | undefined;
  if (original && Array.isArray(original.errors)) {
    return original.errors.map((cause) => describeCause(cause, original, log));
  }
  if (!original) {
    if (!executed || extensionsOf(error).code) return [{ error: documentError(error) }];
    // A field the schema promises non-null came back null: a fault of ours.
    log.error({ err: error }, 'GraphQL execution error');
    return [{ error: fromAppError(INTERNAL, error) }];
  }
  if (original instanceof GraphQLError && extensionsOf(original).code) {
    return [{ error: documentError(original) }];
  }
  const appError = toAppError(original);
  if (appError) {
    if (appError.statusCode >= 500) log.warn({ err: original }, appError.message);
    return [executed ? { error: fromAppError(appError, error) } : http(appError)];
  }
  if (!executed) return [describeCause(original, undefined, log)];
  log.error({ err: original }, 'unhandled error');
  return [{ error: fromAppError(INTERNAL, error) }];
}

/**
 * graphql-js' hints (` Did you mean "x"?`, ` Did you mean "x" or "y"?`, ` Did you mean the enum
 * value "X"?`, after a `.` or a `;`): names the schema has, which only introspection may tell.
 */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

const withoutSuggestions = (error: FormattedError): FormattedError => ({
  ...error,
  message: error.message.replace(SUGGESTION, ''),
});

export function formatGraphqlErrors(
  execution: ExecutionResult & Required<Pick<ExecutionResult, 'errors'>>,
  context: MercuriusContext,
  { suggestions }: { suggestions: boolean },
) {
  const { reply } = context;
  // mercurius hands over executed results with a data entry (null when a root field failed).
  const executed = execution.data !== undefined;
  const described = execution.errors.flatMap((error) => describe(error, executed, reply.log));
  const errors = described.map((d) => (suggestions ? d.error : withoutSuggestions(d.error)));
  if (executed) return { statusCode: 200, response: { data: execution.data, errors } };
  const failure = described.find((d) => d.http)?.http;
  if (failure?.headers) void reply.headers(failure.headers);
  const statusCode = failure?.statusCode ?? (wantsGraphqlResponse(reply.request) ? 400 : 200);
  return { statusCode, response: { errors } };
}
