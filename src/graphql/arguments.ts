import { Type, type Static, type TSchema } from 'typebox';
import { ValidationError } from '../platform/errors.js';
import { fieldErrors } from '../platform/http/error-handler.js';
import { MAX_PAGE_SIZE, type PageRequest } from '../platform/paging.js';
import { compileBody } from '../platform/http/validation.js';

/**
 * GraphQL checks types; the REST schemas check the rest (lengths, formats, ranges). Arguments
 * go through the very TypeBox schemas the routes use, compiled by the same validator as a
 * REST body, so both doors refuse the same input with the same VALIDATION_ERROR and field
 * names, and hand the services the same canonical values (lower-case ids and emails): use
 * the value the checker returns, not the argument it was given.
 */
export function argumentsChecker<T extends TSchema>(schema: T, context = 'input') {
  // Compiled by the first use, like the routes' validators: not a cost of every start-up.
  let compiled: ReturnType<typeof compileBody> | undefined;
  return (value: unknown): Static<T> => {
    const validate = (compiled ??= compileBody(schema));
    if (validate(value)) return value as Static<T>;
    throw new ValidationError(
      'Arguments are invalid',
      fieldErrors(
        context,
        // Required and extra fields are GraphQL's to refuse; what is left has a path and a message.
        (validate.errors ?? []).map(({ instancePath, message }) => ({ instancePath, message })),
      ),
    );
  };
}

export const checkId = argumentsChecker(
  Type.Object({ id: Type.String({ format: 'uuid' }) }),
  'args',
);

const checkPage = argumentsChecker(
  Type.Object({
    limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE }),
    // As deep as REST's last page (1,000,000 pages of 100).
    offset: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
  }),
  'args',
);

/** `limit`/`offset` arguments as the page request services take. */
export function pageOf(args: { limit: number; offset: number }): PageRequest {
  const { limit, offset } = checkPage({ limit: args.limit, offset: args.offset });
  return { page: 1, pageSize: limit, offset };
}
