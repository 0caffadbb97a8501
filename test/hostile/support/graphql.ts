import fc from 'fast-check';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import type { InjectOptions } from 'fastify';
import { DOCUMENTED_CODES, SERVER_FAULT_CODES } from './codes.js';
import { envelopeProblem, type Findings, type Problem } from './findings.js';
import type { Schema } from './openapi.js';
import { describeRequest, inject, jsonText, Lazy } from './requests.js';
import { RUNS, seedFor, selected } from './settings.js';
import {
  ABSENT,
  classesFor,
  RawNumber,
  type Field,
  type Pools,
  type Value,
  type ValueClass,
} from './values.js';
import { freshEmail, ROLES, someAddress, type Role, type World } from './world.js';

type Mode = 'variables' | 'literal' | 'default';
const MODES: Mode[] = ['variables', 'literal', 'default'];

interface RootField {
  /** `Query.user`, `Mutation.createPost`: the operation's name in the report. */
  name: string;
  kind: 'query' | 'mutation';
  field: GraphQLField<unknown, unknown>;
}

/** A GraphQL request before encoding. */
interface GqlDraft {
  args: Record<string, Value>;
  mode: Mode;
  alias?: string;
  /** Replaces the selection of the field's result. */
  selection?: string;
}

/** A GraphQL argument type as the JSON Schema the value generators read. */
function schemaOf(type: GraphQLInputType): Schema {
  const nullable = getNullableType(type);
  if (isListType(nullable)) return { type: 'array', items: schemaOf(nullable.ofType) };
  if (isEnumType(nullable))
    return { type: 'string', enum: nullable.getValues().map((v) => v.name) };
  if (isInputObjectType(nullable)) {
    const fields = nullable.getFields();
    return {
      type: 'object',
      properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, schemaOf(f.type)])),
      required: Object.values(fields)
        .filter((f) => isNonNullType(f.type))
        .map((f) => f.name),
    };
  }
  switch (nullable.name) {
    case 'ID':
      return { type: 'string', format: 'uuid' };
    case 'Int':
      return { type: 'integer', minimum: -(2 ** 31), maximum: 2 ** 31 - 1 };
    case 'Float':
      return { type: 'number' };
    case 'Boolean':
      return { type: 'boolean' };
    default:
      return { type: 'string' };
  }
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A value as a GraphQL literal of the given type (best effort for values of the wrong type). */
export function literal(value: Value, type: GraphQLInputType | undefined): string {
  const nullable = type ? getNullableType(type) : undefined;
  if (value === null || value === undefined || value === ABSENT) return 'null';
  if (value instanceof RawNumber) return value.text;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '0';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') {
    const isEnum = nullable && isEnumType(nullable);
    return isEnum && NAME.test(value) && !['true', 'false', 'null'].includes(value)
      ? value
      : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    const item = nullable && isListType(nullable) ? nullable.ofType : undefined;
    return `[${value.map((v) => literal(v, item)).join(', ')}]`;
  }
  const fields = nullable && isInputObjectType(nullable) ? nullable.getFields() : {};
  const entries = Object.entries(value as Record<string, Value>)
    .filter(([, v]) => v !== ABSENT)
    .map(([k, v]) => `${NAME.test(k) ? k : '_invalid'}: ${literal(v, fields[k]?.type)}`);
  return `{${entries.join(', ')}}`;
}

/**
 * The result's selection: its leaf fields and __typename, and (depth 1) the leaves of its
 * object fields, each called with `nested` arguments when given (`posts(limit: -1)`).
 */
function selectionOf(
  field: GraphQLField<unknown, unknown>,
  depth = returnsList(field) ? 0 : 1,
  nested: Record<string, string> = {},
): string {
  const named = getNamedType(field.type);
  if (isLeafType(named)) return '';
  if (!isObjectType(named)) return '{ __typename }';
  const parts = ['__typename'];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    if (isLeafType(getNamedType(f.type))) parts.push(f.name);
    else if (depth > 0) {
      const args = f.args
        .filter((a) => nested[a.name] !== undefined)
        .map((a) => `${a.name}: ${nested[a.name]}`)
        .join(', ');
      parts.push(`${f.name}${args ? `(${args})` : ''} ${selectionOf(f, depth - 1)}`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

/** A list result multiplies its nested fields' cost: it is selected one level deep only. */
function returnsList(field: GraphQLField<unknown, unknown>): boolean {
  return isListType(getNullableType(field.type));
}

/** The arguments of the result's object fields (User.posts(limit)...), for a single result. */
function nestedArguments(field: GraphQLField<unknown, unknown>): string[] {
  const named = getNamedType(field.type);
  if (!isObjectType(named) || returnsList(field)) return [];
  const names = new Set<string>();
  for (const f of Object.values(named.getFields())) for (const a of f.args) names.add(a.name);
  return [...names];
}

/** Hostile literals for the arguments of nested fields (all Int in this schema). */
const NESTED_VALUES = [
  '-1',
  '0',
  '101',
  '1000000',
  '2147483647',
  '2147483648',
  '1.5',
  '"2"',
  'null',
];

async function settle(value: Value): Promise<Value> {
  if (value instanceof Lazy) return value.get();
  if (Array.isArray(value)) return Promise.all(value.map(settle));
  if (value && typeof value === 'object' && !(value instanceof RawNumber)) {
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await settle(v);
    return out;
  }
  return value;
}

interface GraphqlBody {
  data?: Record<string, unknown> | null;
  errors?: { message?: unknown; path?: unknown[]; extensions?: { code?: unknown } }[];
  error?: unknown;
}

/** What is wrong with a GraphQL answer, if anything. */
export function graphqlProblem(status: number, text: string): Problem | undefined {
  let body: GraphqlBody;
  try {
    body = JSON.parse(text) as GraphqlBody;
  } catch {
    return { kind: 'GraphQL answer is not JSON', status, message: text.slice(0, 200) };
  }
  if (status >= 500) {
    const code = body.errors?.[0]?.extensions?.code;
    return {
      kind: `${status} ${typeof code === 'string' ? code : '(no code)'}`,
      status,
      message: text.slice(0, 200),
    };
  }
  if (body && typeof body === 'object' && 'error' in body && !('errors' in body))
    return envelopeProblem(status, text);
  if (!body || typeof body !== 'object' || (!('data' in body) && !Array.isArray(body.errors))) {
    return { kind: 'not a GraphQL response', status, message: text.slice(0, 200) };
  }
  for (const error of body.errors ?? []) {
    const code = error.extensions?.code;
    if (typeof code !== 'string') {
      return {
        kind: 'GraphQL error without extensions.code',
        status,
        message: String(error.message).slice(0, 200),
      };
    }
    if (SERVER_FAULT_CODES.has(code)) {
      return {
        kind: `GraphQL ${code}`,
        status,
        code,
        message: String(error.message).slice(0, 200),
      };
    }
    if (!DOCUMENTED_CODES.has(code)) {
      return {
        kind: `undocumented code ${code}`,
        status,
        code,
        message: String(error.message).slice(0, 200),
      };
    }
  }
  return undefined;
}

/**
 * A plain user's result that is another user's: a User other than themselves, an Account that
 * isn't their wallet (a user has exactly one).
 */
function graphqlIsolationProblem(
  status: number,
  result: unknown,
  world: World,
): Problem | undefined {
  const items = (Array.isArray(result) ? result : [result]) as Record<string, unknown>[];
  for (const item of items) {
    if (!item || typeof item !== 'object') continue;
    // Only a real id says whose it is (a selection may alias `id: __typename`).
    const id = typeof item.id === 'string' && UUID.test(item.id) ? item.id : undefined;
    const foreignUser = typeof item.email === 'string' && id !== undefined && id !== world.user.id;
    const foreignAccount =
      item.__typename === 'Account' && id !== undefined && id !== world.user.walletId;
    if (foreignUser || foreignAccount) {
      return {
        kind: "a user got another user's resource",
        status,
        message: JSON.stringify(item).slice(0, 200),
      };
    }
  }
  return undefined;
}

interface Outcome {
  problem?: Problem;
  options: InjectOptions;
}

export class GraphqlSweep {
  private schema!: GraphQLSchema;
  private roots: RootField[] = [];
  private readonly pools: Pools;

  constructor(
    readonly world: World,
    readonly findings: Findings,
  ) {
    this.pools = { ids: () => world.knownIds(), emails: () => world.knownEmails() };
  }

  /** The schema from introspection, as a client reads it. */
  async load() {
    const res = await this.world.server.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: getIntrospectionQuery() },
    });
    const body = res.json<{ data: IntrospectionQuery }>();
    this.schema = buildClientSchema(body.data);
    for (const [kind, type] of [
      ['query', this.schema.getQueryType()],
      ['mutation', this.schema.getMutationType()],
    ] as const) {
      for (const field of Object.values(type?.getFields() ?? {})) {
        const name = `${kind === 'query' ? 'Query' : 'Mutation'}.${field.name}`;
        if (selected(name)) this.roots.push({ name, kind, field });
      }
    }
  }

  private baselineArgs(root: RootField, role: Role): Record<string, Value> {
    const w = this.world;
    const self = role === 'admin' ? w.other : w.user;
    switch (root.name) {
      case 'Query.user':
        return { id: self.id };
      case 'Query.post':
        return { id: w.userPostId };
      case 'Query.order':
        return { id: w.orderId };
      case 'Query.account':
        return { id: self.walletId };
      case 'Mutation.createUser':
        return { input: { name: 'Hostile', email: freshEmail(), password: 'long enough pw' } };
      case 'Mutation.updateUser':
        return { id: role === 'user' ? w.user.id : w.victim.id, input: { name: 'Patched' } };
      case 'Mutation.createPost':
        return { input: { title: 'Hostile', content: 'Written over GraphQL.' } };
      case 'Mutation.updatePost':
        return {
          id: role === 'admin' ? w.otherPostId : w.userPostId,
          input: { content: 'Edited.' },
        };
      case 'Mutation.deletePost':
        return { id: new Lazy(() => w.freshPost(role === 'admin' ? w.other : w.user)) };
      default: {
        const args: Record<string, Value> = {};
        for (const arg of root.field.args) {
          if (isNonNullType(arg.type) && arg.defaultValue === undefined)
            args[arg.name] = this.validFor(arg.type);
        }
        return args;
      }
    }
  }

  private validFor(type: GraphQLInputType): Value {
    const nullable = getNullableType(type);
    if (isListType(nullable)) return [];
    if (isEnumType(nullable)) return nullable.getValues()[0]?.name;
    if (isInputObjectType(nullable)) {
      const out: Record<string, Value> = {};
      for (const f of Object.values(nullable.getFields()))
        if (isNonNullType(f.type)) out[f.name] = this.validFor(f.type);
      return out;
    }
    if (nullable.name === 'ID') return this.world.user.id;
    if (nullable.name === 'Int' || nullable.name === 'Float') return 1;
    if (nullable.name === 'Boolean') return true;
    return 'Hostile';
  }

  /** The document and variables of a draft. */
  private document(
    root: RootField,
    draft: GqlDraft,
  ): { query: string; variables?: Record<string, Value> } {
    const alias = draft.alias ? `${draft.alias}: ` : '';
    const selection = draft.selection ?? selectionOf(root.field);
    const byName = new Map<string, GraphQLArgument>(root.field.args.map((a) => [a.name, a]));
    const present = Object.entries(draft.args).filter(([, v]) => v !== ABSENT);
    const keyword = root.kind;
    if (draft.mode === 'literal' || present.length === 0) {
      const args = present.map(([k, v]) => `${k}: ${literal(v, byName.get(k)?.type)}`).join(', ');
      return {
        query: `${keyword} { ${alias}${root.field.name}${args ? `(${args})` : ''} ${selection} }`,
      };
    }
    const definitions = present.map(([k, v]) => {
      const type = byName.get(k)?.type.toString() ?? 'String';
      return draft.mode === 'default'
        ? `$${k}: ${type} = ${literal(v, byName.get(k)?.type)}`
        : `$${k}: ${type}`;
    });
    const args = present.map(([k]) => `${k}: $${k}`).join(', ');
    const query = `${keyword} Hostile(${definitions.join(', ')}) { ${alias}${root.field.name}(${args}) ${selection} }`;
    return draft.mode === 'default' ? { query } : { query, variables: Object.fromEntries(present) };
  }

  private async send(
    root: RootField,
    role: Role,
    options: InjectOptions,
    responseKey: string,
  ): Promise<Outcome | undefined> {
    const stats = this.findings.statsOf(root.name);
    let res;
    try {
      res = await inject(this.world.server, options);
    } catch {
      stats.unsendable++;
      return undefined;
    }
    stats.sent++;
    if (res === 'timeout')
      return { options, problem: { kind: 'no response within 20 s', status: 0 } };
    const status = res.statusCode;
    if (status < 300) stats.ok++;
    else if (status < 500) stats.clientErrors++;
    else stats.serverErrors++;
    let body: GraphqlBody | undefined;
    try {
      body = JSON.parse(res.body) as GraphqlBody;
    } catch {
      body = undefined;
    }
    if (body && typeof body === 'object' && ('data' in body || 'errors' in body)) {
      // It got past HTTP into GraphQL: parsed, validated or run.
      stats.validation++;
      const inData =
        body.data && typeof body.data === 'object' && body.data[responseKey] !== undefined;
      const inErrors = (body.errors ?? []).some(
        (e) => Array.isArray(e.path) && e.path[0] === responseKey,
      );
      if (inData || inErrors) {
        stats.handler++;
        stats.handlerRoles.add(role);
      }
    }
    if (![200, 400, 401, 403, 405, 413, 415, 429].includes(status)) {
      stats.undocumentedStatuses.set(status, (stats.undocumentedStatuses.get(status) ?? 0) + 1);
    }
    const result = body?.data?.[responseKey];
    const problem =
      graphqlProblem(status, res.body) ??
      (role === 'user' ? graphqlIsolationProblem(status, result, this.world) : undefined);
    return { options, problem };
  }

  private headers(role: Role): Record<string, string> {
    const token = this.world.tokenOf(role);
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  private async options(root: RootField, role: Role, draft: GqlDraft): Promise<InjectOptions> {
    const args = (await settle(draft.args)) as Record<string, Value>;
    const payload = this.document(root, { ...draft, args });
    return {
      method: 'POST',
      url: '/graphql',
      headers: { ...this.headers(role), 'content-type': 'application/json' },
      payload: jsonText(payload),
      remoteAddress: someAddress(),
    };
  }

  private report(
    root: RootField,
    role: Role,
    variant: string,
    outcome: Outcome,
    replay?: { seed: number; path?: string },
  ) {
    const p = outcome.problem!;
    this.findings.add({
      kind: p.kind,
      operation: root.name,
      role,
      variant,
      status: p.status,
      code: p.code,
      message: p.message,
      example: describeRequest(outcome.options),
      replay,
    });
  }

  private async once(
    root: RootField,
    role: Role,
    variant: string,
    options: InjectOptions,
    key = root.field.name,
  ) {
    const outcome = await this.send(root, role, options, key);
    if (outcome?.problem) this.report(root, role, variant, outcome);
  }

  /** Arguments and the fields of input-object arguments: where hostile values go. */
  private fields(root: RootField): Field[] {
    const fields: Field[] = [];
    for (const arg of root.field.args) {
      const schema = schemaOf(arg.type);
      fields.push({
        where: 'body',
        name: arg.name,
        path: [arg.name],
        schema,
        required: isNonNullType(arg.type),
      });
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        fields.push({
          where: 'body',
          name: `${arg.name}.${key}`,
          path: [arg.name, key],
          schema: child,
          required: (schema.required ?? []).includes(key),
        });
      }
    }
    return fields;
  }

  private withValue(
    args: Record<string, Value>,
    field: Field,
    value: Value,
  ): Record<string, Value> {
    const next: Record<string, Value> = { ...args };
    if (field.path.length === 1) {
      next[field.name] = value;
      return next;
    }
    const [arg, key] = field.path as [string, string];
    const inner =
      next[arg] && typeof next[arg] === 'object' ? { ...(next[arg] as Record<string, Value>) } : {};
    if (value === ABSENT) delete inner[key];
    else inner[key] = value;
    next[arg] = inner;
    return next;
  }

  private async property(
    root: RootField,
    role: Role,
    field: Field,
    klass: ValueClass,
    timeLimitMs: number,
  ) {
    const seed = seedFor(root.name, role, field.name, klass.name);
    let last: Outcome | undefined;
    const details = await fc.check(
      fc.asyncProperty(klass.arb, fc.constantFrom(...MODES), async (value, mode) => {
        const args = this.withValue(this.baselineArgs(root, role), field, value);
        const options = await this.options(root, role, { args, mode });
        const outcome = await this.send(root, role, options, root.field.name);
        if (outcome?.problem) {
          last = outcome;
          return false;
        }
        return true;
      }),
      {
        seed,
        numRuns: RUNS,
        interruptAfterTimeLimit: Math.max(200, timeLimitMs),
        markInterruptAsFailure: false,
      },
    );
    if (details.failed && last) {
      this.report(root, role, `${field.name}: ${klass.name}`, last, {
        seed,
        path: details.counterexamplePath ?? undefined,
      });
    }
  }

  /** Whole-document variants: aliases, defaults, wrong declarations, transport oddities. */
  private async structural(root: RootField, role: Role) {
    const name = root.field.name;
    const args = () => this.baselineArgs(root, role);
    const post = async (variant: string, draft: GqlDraft, key = name) =>
      this.once(root, role, variant, await this.options(root, role, draft), key);
    const raw = (variant: string, payload: unknown, contentType = 'application/json', key = name) =>
      this.once(
        root,
        role,
        variant,
        {
          method: 'POST',
          url: '/graphql',
          headers: { ...this.headers(role), 'content-type': contentType },
          payload: typeof payload === 'string' ? payload : jsonText(payload),
          remoteAddress: someAddress(),
        },
        key,
      );
    for (const mode of MODES) await post(`baseline (${mode})`, { args: args(), mode });
    await post(
      'aliased',
      { args: args(), mode: 'variables', alias: 'hostileAlias' },
      'hostileAlias',
    );
    await post(
      'aliased as __typename',
      { args: args(), mode: 'literal', alias: '__typename' },
      '__typename',
    );
    if (isObjectType(getNamedType(root.field.type))) {
      await post('__typename aliased as a field', {
        args: args(),
        mode: 'literal',
        selection: '{ id: __typename __typename: __typename }',
      });
    }
    const settled = (await settle(args())) as Record<string, Value>;
    const argList = Object.entries(settled)
      .map(([k, v]) => `${k}: ${literal(v, root.field.args.find((a) => a.name === k)?.type)}`)
      .join(', ');
    const call = `${name}${argList ? `(${argList})` : ''} ${selectionOf(root.field)}`;
    await raw(
      'same field twice under aliases',
      { query: `${root.kind} { a: ${call} b: ${call} }` },
      'application/json',
      'a',
    );
    await raw(
      'over the alias limit',
      {
        query: `${root.kind} { ${Array.from({ length: 30 }, (_, i) => `a${i}: ${call}`).join(' ')} }`,
      },
      'application/json',
      'a0',
    );
    if (root.field.args.length) {
      const decl = root.field.args.map((a) => `$${a.name}: String`).join(', ');
      const use = root.field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
      await raw('variables declared with the wrong type', {
        query: `${root.kind} H(${decl}) { ${name}(${use}) ${selectionOf(root.field)} }`,
        variables: settled,
      });
      await raw('undeclared variable', {
        query: `${root.kind} { ${name}(${root.field.args[0]!.name}: $nope) ${selectionOf(root.field)} }`,
      });
      const declared = root.field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
      const q = `${root.kind} H(${declared}) { ${name}(${use}) ${selectionOf(root.field)} }`;
      for (const variables of ['x', [], 5, null, { [root.field.args[0]!.name]: { nested: [1] } }]) {
        await raw(`variables ${JSON.stringify(variables)}`, { query: q, variables });
      }
      await raw('variable default of the wrong type', {
        query: `${root.kind} H($v: Int = "x") { ${name}(${root.field.args[0]!.name}: $v) ${selectionOf(root.field)} }`,
      });
    }
    for (const arg of nestedArguments(root.field)) {
      for (const value of NESTED_VALUES) {
        const selection = selectionOf(root.field, 1, { [arg]: value });
        await post(`nested ${arg}: ${value}`, { args: args(), mode: 'literal', selection });
      }
    }
    const query = `${root.kind} { ${call} }`;
    await raw('operationName that names nothing', { query, operationName: 'Nope' });
    await raw('two anonymous operations', { query: `${query} ${query}` });
    await raw('query not a string', { query: 1 });
    await raw('query an object', { query: { kind: 'Document', definitions: [] } });
    await raw('no query', { variables: {} });
    await raw('extensions null', { query, extensions: null });
    await raw('persisted query garbage', {
      extensions: { persistedQuery: { version: 1, sha256Hash: 'x' } },
    });
    await raw('batched operations', [{ query }, { query }]);
    await raw(
      'duplicate query keys',
      `{"query":${JSON.stringify(query)},"query":"{ __typename }"}`,
    );
    await raw('document as application/graphql', query, 'application/graphql');
    await raw('document as text/plain', query, 'text/plain');
    await raw('not JSON', '{"query":', 'application/json');
    await raw('unknown directive', {
      query: `${root.kind} { ${name}${argList ? `(${argList})` : ''} @hostile ${selectionOf(root.field)} }`,
    });
    await raw('skip with a string', {
      query: `${root.kind} { ${name}${argList ? `(${argList})` : ''} @skip(if: "yes") ${selectionOf(root.field)} }`,
    });
    await raw('fragment cycle', {
      query: `${root.kind} { ...A } fragment A on ${root.kind === 'query' ? 'Query' : 'Mutation'} { ...A }`,
    });
    await raw('control characters in the document', { query: `${root.kind} {\u0000 ${call} }` });
    await raw('lone surrogate in the document', { query: `${root.kind} { ${call} } # \ud800` });
    const get = (variant: string, url: string) =>
      this.once(root, role, variant, {
        method: 'GET',
        url,
        headers: this.headers(role),
        remoteAddress: someAddress(),
      });
    await get('over GET', `/graphql?query=${encodeURIComponent(query)}`);
    await get(
      'over GET with variables not JSON',
      `/graphql?query=${encodeURIComponent(query)}&variables=%7B`,
    );
  }

  async run(deadline: number) {
    // Structural variants first, for every field: coverage doesn't wait for the properties.
    for (const root of this.roots) {
      for (const role of ROLES) {
        await this.world.repair();
        await this.structural(root, role);
      }
    }
    for (const [index, root] of this.roots.entries()) {
      const rootDeadline =
        Date.now() + Math.max(0, deadline - Date.now()) / (this.roots.length - index);
      for (const role of ROLES) {
        await this.world.repair();
        for (const field of this.fields(root)) {
          for (const klass of classesFor(field, this.pools, 'value')) {
            const remaining = rootDeadline - Date.now();
            if (remaining <= 0) {
              this.findings.statsOf(root.name).skippedForTime++;
              continue;
            }
            await this.property(root, role, field, klass, remaining);
          }
        }
      }
    }
  }
}
