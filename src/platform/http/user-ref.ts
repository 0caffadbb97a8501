import type { FastifyInstance, preValidationAsyncHookHandler, RouteOptions } from 'fastify';
import { Type, type TSchemaOptions } from 'typebox';
import { UnauthorizedError } from '../errors.js';

/**
 * `me` in a path, wherever the path names a user: `/users/me/orders` is the caller's orders.
 * A route says so by its schema alone (a path parameter of `userRefSchema`); the hook below
 * puts the signed-in user's id in its place before validation, so no route or service ever
 * sees `me`, and `me` can only ever name the caller. A guest has no `me`: 401.
 */

/** The word a path may use in place of the signed-in user's id. */
export const ME = 'me';

const userRefs = new WeakSet<object>();

/** A path parameter naming a user: their id, or `me`. Its options carry the docs and examples. */
export function userRefSchema(options: TSchemaOptions = {}) {
  // What both alternatives have in common, beside the anyOf too, for tools that read a
  // parameter's type and length there (the OWASP ruleset's no-numeric-ids and string-limit).
  // No pattern: a value both alternatives refuse would get a second detail for it.
  const schema = Type.Union([Type.String({ format: 'uuid' }), Type.Literal(ME)], {
    ...options,
    type: 'string',
    maxLength: 36,
  });
  userRefs.add(schema);
  return schema;
}

/** The names of a params schema's properties that are user references. */
function userRefNames(params: unknown): string[] {
  if (typeof params !== 'object' || params === null) return [];
  const properties = (params as { properties?: Record<string, unknown> }).properties ?? {};
  return Object.entries(properties)
    .filter(([, schema]) => typeof schema === 'object' && schema !== null && userRefs.has(schema))
    .map(([name]) => name);
}

function resolveMe(names: string[]): preValidationAsyncHookHandler {
  return async (request) => {
    const params = request.params as Record<string, string>;
    for (const name of names) {
      if (params[name] !== ME) continue;
      const { userId } = request.actor;
      if (userId === null) throw new UnauthorizedError(`\`${ME}\` needs a signed-in user`);
      params[name] = userId;
    }
  };
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * Gives every route registered after it whose path names a user the `me` resolution, after
 * the app's own preValidation hooks (authentication refuses a bad token first).
 */
export function registerUserRefs(app: FastifyInstance) {
  app.addHook('onRoute', (route: RouteOptions) => {
    const names = userRefNames(route.schema?.params);
    if (names.length === 0) return;
    route.preValidation = [...asArray(route.preValidation), resolveMe(names)];
  });
}
