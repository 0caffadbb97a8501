import { Ajv, type AnySchema, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * The one validator of what comes in, REST and GraphQL alike. Every request schema passes
 * through `hardened` before it is compiled, so what follows holds for every route and
 * argument without a route having to remember it:
 *
 * - Identifiers have one spelling. A UUID is accepted only in its 36-character hyphenated form
 *   (no braces, no `urn:uuid:`), in any case, and is turned to lower case; an email (ASCII, as
 *   its format allows) is turned to lower case. Nothing after the boundary compares, caches or
 *   throttles two spellings of one thing.
 * - Text is what PostgreSQL can store: U+0000 and unpaired surrogates are refused (400), never
 *   passed on to fail in the database (500) or be replaced on the way (U+FFFD).
 * - Integers without bounds get the safe-integer range: beyond 2^53 a JSON number is no longer
 *   the number the client wrote.
 * - Bodies are JSON as sent: no coercion (`"2"`, `true` and `["2"]` are not the quantity 2).
 *   Query strings, path parameters and headers arrive as text and keep coercion, with the same
 *   range checks.
 */

/** The one accepted spelling of a UUID, before it is lower-cased. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** U+0000, which PostgreSQL text can't hold, and surrogates without their pair. */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what is looked for.
const UNSTORABLE = /\u0000|\p{Surrogate}/u;

export const STORABLE_KEYWORD = 'x-storable';
export const LOWERCASE_KEYWORD = 'x-lowercase';
export const FINITE_KEYWORD = 'x-finite';

/** Formats whose values are compared without regard to case, so stored in lower case. */
const CASELESS_FORMATS = new Set(['uuid', 'email']);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Subschemas by keyword: a single schema, a list of them, or a map of them. */
const SINGLE = ['items', 'additionalProperties', 'not', 'contains', 'if', 'then', 'else'];
const LISTS = ['anyOf', 'allOf', 'oneOf', 'prefixItems'];
const MAPS = ['properties', 'patternProperties'];

function isStringSchema(schema: Json): boolean {
  return schema.type === 'string' || (Array.isArray(schema.type) && schema.type.includes('string'));
}

/** A copy of a request schema with the rules above added to every string and integer in it. */
export function hardened<T>(schema: T): T {
  if (!isObject(schema)) return schema;
  const out: Json = { ...schema };
  for (const key of SINGLE) if (isObject(out[key])) out[key] = hardened(out[key]);
  for (const key of LISTS) {
    if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).map(hardened);
  }
  for (const key of MAPS) {
    if (isObject(out[key])) {
      out[key] = Object.fromEntries(
        Object.entries(out[key]).map(([name, sub]) => [name, hardened(sub)]),
      );
    }
  }
  if (isStringSchema(out)) {
    // A format (uuid, email, date-time) admits ASCII only, a const or enum its own values only,
    // and the alternatives of an anyOf are hardened themselves: they refuse those characters.
    const format = typeof out.format === 'string' ? out.format : undefined;
    const pinned = format !== undefined || 'const' in out || 'enum' in out || 'anyOf' in out;
    if (!pinned) {
      out[STORABLE_KEYWORD] = true;
    } else if (format !== undefined && CASELESS_FORMATS.has(format)) {
      out[LOWERCASE_KEYWORD] = format;
    }
  }
  if (out.type === 'integer') {
    out.minimum ??= -Number.MAX_SAFE_INTEGER;
    out.maximum ??= Number.MAX_SAFE_INTEGER;
  }
  // Ajv coerces the text "Infinity" (and "1e400") to a number that passes its integer check and
  // then skips the range checks, which only look at finite numbers.
  if (out.type === 'integer' || out.type === 'number') out[FINITE_KEYWORD] = true;
  return out as T;
}

function createAjv(coerceTypes: false | 'array'): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    // Route schemas are compiled once each; none is looked up by $id.
    addUsedSchema: false,
  });
  // A CommonJS module whose default export is the plugin itself.
  (formats as unknown as typeof formats.default)(ajv);
  ajv.addFormat('uuid', UUID_PATTERN);
  const storable: SchemaValidateFunction = (_enabled: boolean, data: string) => {
    if (!UNSTORABLE.test(data)) return true;
    storable.errors = [
      {
        keyword: STORABLE_KEYWORD,
        message: 'must not contain U+0000 or unpaired surrogates',
        params: {},
      },
    ];
    return false;
  };
  ajv.addKeyword({
    keyword: STORABLE_KEYWORD,
    type: 'string',
    schemaType: 'boolean',
    errors: true,
    validate: storable,
  });
  const finite: SchemaValidateFunction = (_enabled: boolean, data: unknown) => {
    if (typeof data !== 'number' || Number.isFinite(data)) return true;
    finite.errors = [{ keyword: FINITE_KEYWORD, message: 'must be a finite number', params: {} }];
    return false;
  };
  // No `type`: Ajv checks typed keywords only on finite numbers, which is the hole itself.
  ajv.addKeyword({
    keyword: FINITE_KEYWORD,
    schemaType: 'boolean',
    errors: true,
    validate: finite,
  });
  // Ajv runs every keyword of a schema (allErrors), so a value its format refuses would be
  // lower-cased all the same: inside an anyOf, `ME` would become the `me` a sibling accepts.
  // Only a value of the format is turned into its one spelling; any other is refused as sent.
  const isOfFormat = (format: string, data: string): boolean => {
    const check: unknown = ajv.formats[format];
    const test = (rule: unknown) =>
      rule instanceof RegExp
        ? rule.test(data)
        : typeof rule === 'function' && (rule as (value: string) => unknown)(data) === true;
    return isObject(check) && !(check instanceof RegExp) ? test(check.validate) : test(check);
  };
  ajv.addKeyword({
    keyword: LOWERCASE_KEYWORD,
    type: 'string',
    schemaType: 'string',
    modifying: true,
    validate: (format: string, data: string, _schema, context) => {
      if (context && isOfFormat(format, data)) {
        (context.parentData as Record<string | number, unknown>)[context.parentDataProperty] =
          data.toLowerCase();
      }
      return true;
    },
  });
  return ajv;
}

const bodies = createAjv(false);
const textParts = createAjv('array');

/** Compiles a request schema for a JSON body (or GraphQL arguments): no coercion. */
export function compileBody(schema: AnySchema): ValidateFunction {
  return bodies.compile(hardened(schema));
}

/**
 * Fastify's validator compiler: bodies strict, the textual parts coerced; all hardened. A route's
 * validator is compiled by its first request: compiling every route's at start-up was a fifth
 * of the start-up time, for routes a restart in development mostly never calls.
 */
export const validatorCompiler: FastifySchemaCompiler<AnySchema> = ({ schema, httpPart }) => {
  let compiled: ValidateFunction | undefined;
  const validate = ((data: unknown) => {
    compiled ??= (httpPart === 'body' ? bodies : textParts).compile(hardened(schema));
    const valid = compiled(data);
    // Fastify reads the errors from the function it was given.
    validate.errors = compiled.errors;
    return valid;
  }) as ValidateFunction;
  return validate;
};

/**
 * For Fastify's `schemaController.compilersFactory.buildValidator`, which every plugin's schema
 * controller inherits (setValidatorCompiler does not reach a plugin that adds its own schemas).
 */
export const validatorFactory = () => validatorCompiler as (route: object) => ValidateFunction;
