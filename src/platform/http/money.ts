import { Type, type TNumberOptions } from 'typebox';

/**
 * Money in this API (docs/reference/money.md): an amount is a JSON integer counting minor
 * units of the ISO 4217 `currency` beside it in the same object; never a decimal, never a
 * float. Every money field is built here, so every one says its unit in the documents.
 */

/** What every money field's description ends with; tests look for it. */
export const MINOR_UNITS = 'integer count of minor units of `currency` (e.g. cents: 1999 is 19.99)';

/** A money field: `what` it is, then its unit. */
export function minorUnits(what: string, options: TNumberOptions = {}) {
  return Type.Integer({ ...options, description: `${what}; ${MINOR_UNITS}` });
}

/** The currency of the amounts of the object it is in. */
export const Currency = Type.String({
  pattern: '^[A-Z]{3}$',
  maxLength: 3,
  description: 'ISO 4217 code, upper case, of every amount in this object',
  examples: ['USD'],
});
