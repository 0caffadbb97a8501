/**
 * What the OpenAPI documents state on every operation and schema because it holds for the
 * whole API, rather than repeating it in each route's schema: the global rate limit's headers,
 * the 500 answer any operation may give, and the bounds JSON values of this API always have.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const INT32_MAX = 2 ** 31 - 1;

/** Lengths a format fixes: a UUID is 36 characters; date-times are written by toISOString. */
const FORMAT_MAX_LENGTH: Record<string, number> = { uuid: 36, 'date-time': 24 };

/**
 * Fills what a schema leaves implicit. Integers: every number a JavaScript server reads or
 * writes exactly is a safe integer, and the format follows from the bounds. Strings: the
 * length their format already fixes.
 */
export function withImplicitBounds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withImplicitBounds);
  if (!isObject(node)) return node;
  const out: Json = Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, withImplicitBounds(value)]),
  );
  if (out.type === 'integer') {
    out.minimum ??= -Number.MAX_SAFE_INTEGER;
    out.maximum ??= Number.MAX_SAFE_INTEGER;
    const fits32 = Math.abs(Number(out.minimum)) <= INT32_MAX && Number(out.maximum) <= INT32_MAX;
    out.format ??= fits32 ? 'int32' : 'int64';
  }
  if (out.type === 'string' && typeof out.format === 'string' && out.maxLength === undefined) {
    const max = FORMAT_MAX_LENGTH[out.format];
    if (max !== undefined) out.maxLength = max;
  }
  return out;
}

const integerHeader = (description: string) => ({
  description,
  schema: { type: 'integer', format: 'int32', minimum: 0, maximum: INT32_MAX },
});

/** @fastify/rate-limit (enableDraftSpec) sends these on every /api answer. */
const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': integerHeader('Requests allowed in the window'),
  'RateLimit-Remaining': integerHeader('Requests left in the window'),
  'RateLimit-Reset': integerHeader('Seconds until the window resets'),
};

const RETRY_AFTER = { 'Retry-After': integerHeader('Seconds to wait before retrying') };

const SERVER_ERROR = {
  description: 'INTERNAL_SERVER_ERROR, with no detail (the log has it)',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
};

/** An /api operation's responses with the headers the limiter adds, and the 500 envelope. */
export function withGlobalResponses(responses: Json): Json {
  const out: Json = {};
  const all: Json = { ...responses, 500: SERVER_ERROR };
  for (const [status, response] of Object.entries(all)) {
    if (!isObject(response)) continue;
    const limited = /^[24]/.test(status);
    const headers = {
      ...(isObject(response.headers) ? response.headers : {}),
      ...(limited ? RATE_LIMIT_HEADERS : {}),
      ...(status === '429' ? RETRY_AFTER : {}),
    };
    out[status] = { ...response, headers };
  }
  return out;
}
