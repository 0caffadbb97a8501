import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';

/** The served OpenAPI documents as a client reads them, and what tests read out of them. */

type Json = Record<string, unknown>;

export type Document = OpenAPIV3_1.Document;
export type Schema = OpenAPIV3_1.SchemaObject;
export type Parameter = OpenAPIV3_1.ParameterObject;
export type Media = OpenAPIV3_1.MediaTypeObject;
export type Response = OpenAPIV3_1.ResponseObject;

export interface DocumentedOperation {
  /** `GET /api/v1/users/{id}` */
  name: string;
  method: string;
  path: string;
  version: number;
  /** The operation with every `$ref` replaced by what it points at. */
  operation: OpenAPIV3_1.OperationObject;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export async function fetchDocument(server: FastifyInstance, version: number): Promise<Document> {
  const res = await server.inject({ method: 'GET', url: `/openapi/v${version}.json` });
  if (res.statusCode !== 200) throw new Error(`/openapi/v${version}.json: ${res.statusCode}`);
  return res.json<Document>();
}

/** Replaces every local `$ref` by its target (the documents' schemas have no cycles). */
export function resolveRefs<T>(value: T, document: Document, depth = 0): T {
  if (depth > 50 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    return value.map((v: unknown) => resolveRefs(v, document, depth + 1)) as T;
  }
  const record = value as Json;
  if (typeof record.$ref === 'string' && record.$ref.startsWith('#/')) {
    const target = record.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], document);
    return resolveRefs(target as T, document, depth + 1);
  }
  return Object.fromEntries(
    Object.entries(record).map(([k, v]) => [k, resolveRefs(v, document, depth + 1)]),
  ) as T;
}

/** Every operation of both versions' documents, once each (the health checks are in both). */
export async function documentedOperations(
  server: FastifyInstance,
): Promise<DocumentedOperation[]> {
  const operations: DocumentedOperation[] = [];
  const seen = new Set<string>();
  for (const version of [1, 2]) {
    const document = await fetchDocument(server, version);
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      for (const method of METHODS) {
        const raw = item?.[method];
        const name = `${method.toUpperCase()} ${path}`;
        if (!raw || seen.has(name)) continue;
        seen.add(name);
        const operation = resolveRefs(raw, document);
        operations.push({ name, method: method.toUpperCase(), path, version, operation });
      }
    }
  }
  return operations;
}

/** The first example of a parameter or a media type: `example`, else the first of `examples`. */
export function firstExample(holder: { example?: unknown; examples?: unknown }): unknown {
  if (holder.example !== undefined) return holder.example;
  const examples = holder.examples as Record<string, { value?: unknown }> | undefined;
  return examples ? Object.values(examples)[0]?.value : undefined;
}

/** Every example of a parameter or a media type. */
export function allExamples(holder: { example?: unknown; examples?: unknown }): unknown[] {
  if (holder.example !== undefined) return [holder.example];
  const examples = holder.examples as Record<string, { value?: unknown }> | undefined;
  return Object.values(examples ?? {}).map((e) => e.value);
}

export const parametersOf = (op: DocumentedOperation) =>
  (op.operation.parameters ?? []) as Parameter[];

export const bodyOf = (op: DocumentedOperation) =>
  (op.operation.requestBody as OpenAPIV3_1.RequestBodyObject | undefined)?.content?.[
    'application/json'
  ];

/** The operation's 2xx responses, by status. */
export function successesOf(op: DocumentedOperation): [number, Response][] {
  return Object.entries(op.operation.responses ?? {})
    .filter(([status]) => /^2\d\d$/.test(status))
    .map(([status, response]) => [Number(status), response as Response]);
}

/** A validator for the documents' schemas (JSON Schema as OpenAPI 3.1 writes it). */
export function schemaValidator(): (schema: Schema) => ValidateFunction {
  // Not strict: the documents carry OpenAPI's own keywords (`example`) beside JSON Schema's.
  // Resolved schemas repeat the $id of the component they came from: none is looked up by it.
  const ajv = new Ajv({ strict: false, allErrors: true, addUsedSchema: false });
  (formats as unknown as typeof formats.default)(ajv);
  const compiled = new WeakMap<object, ValidateFunction>();
  return (schema) => {
    let validate = compiled.get(schema);
    if (!validate) {
      validate = ajv.compile(schema);
      compiled.set(schema, validate);
    }
    return validate;
  };
}
