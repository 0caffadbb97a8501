import type { preValidationAsyncHookHandler } from 'fastify';
import { ValidationError } from './errors.js';

/**
 * A route pre-validation hook: the named body fields, when present, must be JSON numbers.
 * Fastify's Ajv coerces types for every part of the request (so query strings parse), which
 * in a body turns `null` into 0, `true` into 1 and `"12"` into 12. For an amount of money that
 * is a wrong price, not a convenience, so these fields are refused before the schema runs.
 */
export function strictNumbers(...fields: string[]): preValidationAsyncHookHandler {
  return async (request) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null) return;
    const wrong = fields.filter(
      (field) => field in body && typeof (body as Record<string, unknown>)[field] !== 'number',
    );
    if (wrong.length === 0) return;
    throw new ValidationError(
      'Request is invalid',
      wrong.map((field) => ({ field: `body.${field}`, message: 'must be a JSON number' })),
    );
  };
}
