import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { normalize, typeOf, type Schema } from './openapi.js';

/**
 * Hostile values, by the schema of the place they go to. Each class is a small fast-check
 * arbitrary: the sweep draws a few values of every class a field admits, and a failure is
 * shrunk within its class.
 */

/** A JSON number written exactly as given (`-0`, `9007199254740993`, `1e400`): JSON.stringify can't. */
export class RawNumber {
  constructor(readonly text: string) {}
  toJSON() {
    return Number(this.text);
  }
}

/** The field is left out of the request. */
export const ABSENT = Symbol('absent');
export type Value = unknown;

export interface ValueClass {
  name: string;
  arb: fc.Arbitrary<Value>;
}

/** Where a value goes: a path, query or header parameter, or a field inside the JSON body. */
export type Where = 'path' | 'query' | 'header' | 'body';

export interface Field {
  where: Where;
  /** The parameter's name, or the body field's path (`items.0.productId`). */
  name: string;
  path: (string | number)[];
  schema: Schema;
  required: boolean;
}

/** Known ids and emails of the seeded world, for "someone else's" values. */
export interface Pools {
  ids: () => string[];
  emails: () => string[];
}

const MAX_BODY_STRING = 1_000_000;
/** Path and query strings stay well below Node's URL limits; the body takes the ~1 MB ones. */
const MAX_URL_STRING = 4096;

const CONTROL = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u200b',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\ufffe',
  'a',
];

const constants = <T>(...values: T[]) => fc.constantFrom(...values);

function controlStrings() {
  return fc.string({ unit: fc.constantFrom(...CONTROL), minLength: 1, maxLength: 6 });
}

/** Unicode whose case mapping changes its length or lands in ASCII: İ, the Kelvin sign, ſ. */
function caseTraps(base: string) {
  const swapped = base.replace(/i/g, '\u0130').replace(/k/g, '\u212a').replace(/s/g, '\u017f');
  return constants(
    base.toUpperCase(),
    swapped,
    `${base}\u0130`,
    '\u0130',
    '\u212a',
    '\u017f',
    '\u0131',
    'ß',
    '\ufb00',
    `${base}\u0301`,
    base.normalize('NFD') === base ? `${base}\u0300` : base.normalize('NFD'),
  );
}

function uuidForms(pools: Pools) {
  const id = () => pools.ids()[0] ?? randomUUID();
  return fc.oneof(
    fc.constantFrom(...[0, 1, 2, 3, 4, 5, 6, 7]).map((i) => pools.ids()[i] ?? id()),
    fc
      .constantFrom(
        'upper',
        'braced',
        'urn',
        'nil',
        'max',
        'nodash',
        'space',
        'newline',
        'short',
        'long',
        'nonhex',
        'v4',
        'upperOther',
        'bracedUpper',
        'fullwidth',
      )
      .map((form) => {
        const u = pools.ids()[3] ?? id();
        switch (form) {
          case 'upper':
            return u.toUpperCase();
          case 'braced':
            return `{${u}}`;
          case 'urn':
            return `urn:uuid:${u}`;
          case 'nil':
            return '00000000-0000-0000-0000-000000000000';
          case 'max':
            return 'ffffffff-ffff-ffff-ffff-ffffffffffff';
          case 'nodash':
            return u.replace(/-/g, '');
          case 'space':
            return ` ${u} `;
          case 'newline':
            return `${u}\n`;
          case 'short':
            return u.slice(0, 35);
          case 'long':
            return `${u}0`;
          case 'nonhex':
            return `${u.slice(0, 35)}g`;
          case 'v4':
            return randomUUID();
          case 'upperOther':
            return (pools.ids()[5] ?? u).toUpperCase();
          case 'bracedUpper':
            return `{${u.toUpperCase()}}`;
          case 'fullwidth':
            // Full-width digits and letters look like a UUID to a human.
            return u.replace(/[0-9a-f]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
        }
      }),
  );
}

function emailForms(pools: Pools) {
  return fc.oneof(
    fc.constantFrom(0, 1, 2, 3).map((i) => (pools.emails()[i] ?? 'a@example.com').toUpperCase()),
    fc.constantFrom(0, 1, 2, 3).map((i) => {
      const e = pools.emails()[i] ?? 'hi@example.com';
      return e.replace('h', 'H').replace('e', '\u0130');
    }),
    fc.constantFrom(0, 1).map((i) => `  ${pools.emails()[i] ?? 'a@example.com'}  `),
    constants(
      'a@b',
      '@',
      'a@',
      '@example.com',
      'x@localhost',
      '"q u o t e d"@example.com',
      'a@b..com',
      'a..b@example.com',
      'user@xn--80ak6aa92e.com',
      'user@пример.рф',
      '\u0130nfo@example.com',
      'info@EXAMPLE.COM',
      `${'a'.repeat(64)}@${'b'.repeat(186)}.com`,
      `${'a'.repeat(65)}@example.com`,
      'a@example.com\u0000',
      'a\n@example.com',
      'a@[127.0.0.1]',
      'a+tag@example.com',
    ),
  );
}

/** A v2 cursor as the API encodes it, with any createdAt and id. */
export function forgeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function cursors(pools: Pools) {
  const id = () => pools.ids()[0] ?? randomUUID();
  const dates = [
    '0000-01-01T00:00:00.000Z',
    '0001-01-01T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59.999Z',
    '+010000-01-01T00:00:00.000Z',
    '+294277-01-01T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '+275760-09-13T00:00:00.000Z',
    '2024-02-30T00:00:00.000Z',
    '2024-01-01T00:00:00Z',
    '2024-01-01',
  ];
  return fc.oneof(
    fc.constantFrom(...dates).map((createdAt) => forgeCursor({ createdAt, id: id() })),
    fc
      .constantFrom(...dates.slice(0, 4))
      .map((createdAt) => forgeCursor({ createdAt, id: id().toUpperCase() })),
    constants(
      forgeCursor({
        createdAt: '2024-01-01T00:00:00.000Z',
        id: '00000000-0000-0000-0000-000000000000',
      }),
      forgeCursor({ createdAt: 0, id: 0 }),
      forgeCursor({ createdAt: null, id: null }),
      forgeCursor([]),
      forgeCursor('x'),
      forgeCursor({ createdAt: '2024-01-01T00:00:00.000Z' }),
      forgeCursor({ createdAt: '2024-01-01T00:00:00.000Z', id: 'x', extra: 1 }),
      '{"createdAt":"2024-01-01T00:00:00.000Z"}',
      'e30',
      'e30=',
      '!!!',
      'AAAA',
      Buffer.from('\u0000\ud800', 'utf8').toString('base64url'),
      Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url'),
      `${forgeCursor({ createdAt: '2024-01-01T00:00:00.000Z', id: id() })}.`,
    ),
  );
}

function hugeStrings(max: number | undefined, where: Where) {
  const limit = where === 'body' ? MAX_BODY_STRING : MAX_URL_STRING;
  const over = (max ?? 256) + 1;
  return fc.constantFrom(
    'a'.repeat(Math.min(over, limit)),
    // Code units, code points and bytes each count differently.
    '\u{1F600}'.repeat(Math.min(Math.ceil(over / 2), limit / 2)),
    'é'.repeat(Math.min(max ?? 256, limit)),
    'a'.repeat(limit),
  );
}

function numberBounds(schema: Schema) {
  const values: Value[] = [
    0,
    -1,
    1,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53,
    new RawNumber('9007199254740993'),
    1e308,
    -1e308,
    new RawNumber('-0'),
    new RawNumber('1e400'),
    new RawNumber('1.0'),
    new RawNumber('2e0'),
    0.5,
    1e-7,
  ];
  if (schema.minimum !== undefined) values.push(schema.minimum - 1, schema.minimum);
  if (schema.maximum !== undefined) {
    values.push(schema.maximum + 1, schema.maximum, new RawNumber(`${schema.maximum}.5`));
  }
  return fc.constantFrom(...values);
}

const numberish = () =>
  constants<Value>(
    '2',
    'NaN',
    'Infinity',
    '-Infinity',
    '1e3',
    ' 2',
    '0x10',
    '',
    '١',
    true,
    false,
    ['2'],
    [2],
    null,
    {},
    { $gt: 0 },
  );

/** Values of every JSON type but the field's own. */
function wrongTypes(type: string) {
  const all: Value[] = [2, 0, -1, 1e308, true, false, null, [], ['x'], {}, { '': '' }, 'x', ''];
  const own = (v: Value) =>
    (type === 'string' && typeof v === 'string') ||
    ((type === 'integer' || type === 'number') && typeof v === 'number') ||
    (type === 'boolean' && typeof v === 'boolean') ||
    (type === 'array' && Array.isArray(v)) ||
    (type === 'object' && v !== null && typeof v === 'object' && !Array.isArray(v));
  return fc.constantFrom(...all.filter((v) => !own(v)));
}

function enumForms(values: unknown[]) {
  const first = typeof values[0] === 'string' ? values[0] : 'x';
  return constants<Value>(
    first.toUpperCase(),
    first.charAt(0).toUpperCase() + first.slice(1),
    `${first} `,
    ` ${first}`,
    `${first}\u0000`,
    first.replace(/s/g, '\u017f').replace(/i/g, '\u0131').replace(/k/g, '\u212a'),
    first.replace(/i/g, '\u0130'),
    'unknown',
    '',
    values,
    0,
  );
}

/** The hostile classes a field admits, by its schema. */
export function classesFor(field: Field, pools: Pools, baseline: Value): ValueClass[] {
  const schema = normalize(field.schema);
  const type = typeOf(schema);
  const classes: ValueClass[] = [];
  const add = (name: string, arb: fc.Arbitrary<Value>) => classes.push({ name, arb });
  if (field.where === 'body' && field.path.length > 0) add('absent', fc.constant(ABSENT));
  if (field.where !== 'path' && field.where !== 'body') add('absent', fc.constant(ABSENT));
  const base = typeof baseline === 'string' ? baseline : 'value';
  if (schema.enum) {
    add('enum-case', enumForms(schema.enum));
  } else if (type === 'string') {
    add('control', controlStrings());
    add('nul', constants(`\u0000`, `${base}\u0000`, `\u0000${base}`));
    add('surrogate', constants('\ud800', '\udfff', `${base}\ud800`, '\udc00\ud800'));
    add('blank', constants('', ' ', '\t', '\u00a0', '\u3000', ' \n '));
    add('huge', hugeStrings(schema.maxLength, field.where));
    add('unicode-case', caseTraps(base));
    if (schema.format === 'uuid') add('uuid-forms', uuidForms(pools));
    if (schema.format === 'email' || /email/i.test(field.name))
      add('email-forms', emailForms(pools));
    if (/cursor/i.test(field.name)) add('cursor-forged', cursors(pools));
  } else if (type === 'integer' || type === 'number') {
    add('number-bounds', numberBounds(schema));
    add('numberish', numberish());
  } else if (type === 'boolean') {
    add(
      'boolean-forms',
      constants<Value>('true', 'false', 'TRUE', 1, 0, '1', 'yes', null, [], [true]),
    );
  } else if (type === 'array') {
    const item = baselineItem(baseline);
    add(
      'array-forms',
      constants<Value>(
        [],
        null,
        {},
        'x',
        [null],
        [[]],
        Array.from({ length: (schema.maxItems ?? 50) + 1 }, () => item),
        [item, item],
        { 0: item, length: 1 },
      ),
    );
  } else if (type === 'object') {
    add('object-forms', constants<Value>(null, [], 'x', 0, {}, { __proto__: { a: 1 } }));
  }
  if (type !== 'unknown' && !schema.enum) add('wrong-type', wrongTypes(type));
  return classes;
}

function baselineItem(baseline: Value): Value {
  return Array.isArray(baseline) && baseline.length > 0 ? baseline[0] : {};
}

/** The documented fields of an object schema, its nested ones too (first array item). */
export function bodyFields(
  schema: Schema | undefined,
  body: Value,
  prefix: (string | number)[] = [],
): Field[] {
  const s = normalize(schema);
  if (!s.properties) return [];
  const fields: Field[] = [];
  for (const [key, child] of Object.entries(s.properties)) {
    const path = [...prefix, key];
    const cs = normalize(child);
    fields.push({
      where: 'body',
      name: path.join('.'),
      path,
      schema: child,
      required: (s.required ?? []).includes(key),
    });
    const inner = (body as Record<string, unknown> | undefined)?.[key];
    if (cs.properties) fields.push(...bodyFields(cs, inner, path));
    if (typeOf(cs) === 'array' && cs.items && normalize(cs.items).properties) {
      const first: unknown = Array.isArray(inner) ? inner[0] : undefined;
      fields.push(...bodyFields(cs.items, first, [...path, 0]));
    }
  }
  return fields;
}

/** A valid value for a schema when no operation-specific one is known. */
export function validFor(schema: Schema, name: string): Value {
  const s = normalize(schema);
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  switch (typeOf(s)) {
    case 'string':
      if (s.format === 'email') return `h-${randomUUID()}@example.com`;
      if (s.format === 'uuid') return randomUUID();
      if (s.pattern === '^[A-Z]{3}$') return 'USD';
      if (/password/i.test(name)) return 'long enough pw';
      return 'Hostile'.padEnd(Math.max(s.minLength ?? 1, 7), 'x').slice(0, s.maxLength ?? 7);
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 1, 1);
    case 'boolean':
      return true;
    case 'array':
      return s.items ? [validFor(s.items, name)] : [];
    case 'object': {
      const out: Record<string, Value> = {};
      const required = s.required?.length
        ? s.required
        : Object.keys(s.properties ?? {}).slice(0, 1);
      for (const key of required) out[key] = validFor(s.properties?.[key] ?? {}, key);
      return out;
    }
    default:
      return 'x';
  }
}
