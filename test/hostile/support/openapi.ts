import type { FastifyInstance } from 'fastify';

/** The JSON Schema subset the generators read; everything else passes through untouched. */
export interface Schema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  default?: unknown;
  additionalProperties?: boolean | Schema;
  minProperties?: number;
  $ref?: string;
  [key: string]: unknown;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

/** One documented operation: `GET /api/v1/users/{id}` and what it takes. */
export interface Operation {
  /** `METHOD /path/{param}`, as the documents spell it. */
  name: string;
  method: string;
  path: string;
  /** The route as Fastify names it (`/api/v1/users/:id`), for the hook counters. */
  routeKey: string;
  version: number;
  parameters: Parameter[];
  body?: Schema;
  bodyRequired: boolean;
  statuses: number[];
  secured: boolean;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

interface Document {
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, Schema> };
}

/** Replaces every local `$ref` by what it points at (the documents have no cycles in inputs). */
function resolve(value: unknown, document: Document, depth = 0): unknown {
  if (depth > 50 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => resolve(v, document, depth + 1));
  const record = value as Record<string, unknown>;
  if (typeof record.$ref === 'string' && record.$ref.startsWith('#/')) {
    const target = record.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (node, key) => (node as Record<string, unknown> | undefined)?.[key],
        document,
      );
    return resolve(target, document, depth + 1);
  }
  return Object.fromEntries(
    Object.entries(record).map(([k, v]) => [k, resolve(v, document, depth + 1)]),
  );
}

export function operationsOf(document: Document, version: number): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const raw = item[method] as Record<string, unknown> | undefined;
      if (!raw) continue;
      const op = resolve(raw, document) as {
        parameters?: Parameter[];
        requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
        responses?: Record<string, unknown>;
        security?: Record<string, unknown>[];
      };
      const body = op.requestBody?.content?.['application/json']?.schema;
      operations.push({
        name: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        routeKey: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`,
        version,
        parameters: (op.parameters ?? []).map((p) => ({ ...p, required: !!p.required })),
        body,
        bodyRequired: !!op.requestBody?.required || body !== undefined,
        statuses: Object.keys(op.responses ?? {})
          .map(Number)
          .filter((n) => Number.isInteger(n)),
        // `[{}, {bearerAuth: []}]` is "a token is optional".
        secured:
          (op.security ?? []).length > 0 &&
          !(op.security ?? []).some((s) => !Object.keys(s).length),
      });
    }
  }
  return operations;
}

/** Both versions' operations, read from the served documents like a client reads them. */
export async function readOperations(server: FastifyInstance): Promise<Operation[]> {
  const operations: Operation[] = [];
  const seen = new Set<string>();
  for (const version of [1, 2]) {
    const res = await server.inject({ method: 'GET', url: `/openapi/v${version}.json` });
    if (res.statusCode !== 200) throw new Error(`/openapi/v${version}.json: ${res.statusCode}`);
    for (const op of operationsOf(res.json<Document>(), version)) {
      // The health checks are in both documents.
      if (seen.has(op.name)) continue;
      seen.add(op.name);
      operations.push(op);
    }
  }
  return operations;
}

/** The schema's alternatives flattened: `anyOf` of enums becomes one enum. */
export function normalize(schema: Schema | undefined): Schema {
  if (!schema) return {};
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.every((a) => Array.isArray(a.enum))) {
    const values = alternatives.flatMap((a) => a.enum ?? []);
    return {
      ...schema,
      anyOf: undefined,
      oneOf: undefined,
      type: alternatives[0]?.type,
      enum: values,
    };
  }
  if (alternatives) {
    const first = alternatives.find((a) => a.type !== 'null') ?? alternatives[0];
    return { ...schema, anyOf: undefined, oneOf: undefined, ...normalize(first) };
  }
  return schema;
}

export const typeOf = (schema: Schema): string => {
  const s = normalize(schema);
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null') ?? 'string';
  if (s.type) return s.type;
  if (s.enum) return typeof s.enum[0];
  if (s.properties) return 'object';
  return 'unknown';
};
