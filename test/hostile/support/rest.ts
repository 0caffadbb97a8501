import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { login } from '../../support/auth.js';
import { abbreviate, envelopeProblem, errorOf, type Findings, type Problem } from './findings.js';
import { normalize, type Operation, type Schema } from './openapi.js';
import {
  describeRequest,
  encode,
  inject,
  jsonText,
  Lazy,
  withField,
  type Draft,
} from './requests.js';
import { RUNS, seedFor } from './settings.js';
import {
  bodyFields,
  classesFor,
  validFor,
  type Field,
  type Pools,
  type Value,
  type ValueClass,
} from './values.js';
import { freshEmail, PRODUCT, someAddress, type Role, type World } from './world.js';

/** What the Fastify hooks saw of the request in flight (requests go one at a time). */
export interface Tracker {
  route?: string;
  validation: boolean;
  handler: boolean;
}

/** Adds the counting hooks; pass to startApp's beforeReady. */
export function trackHooks(tracker: Tracker) {
  return (server: FastifyInstance) => {
    server.addHook('preValidation', async (request) => {
      tracker.route = `${request.routeOptions.method as string} ${request.routeOptions.url ?? ''}`;
      tracker.validation = true;
    });
    server.addHook('preHandler', async (request) => {
      tracker.route = `${request.routeOptions.method as string} ${request.routeOptions.url ?? ''}`;
      tracker.handler = true;
    });
  };
}

/** The operation's path without its version segment: what the baselines are keyed by. */
const unversioned = (op: Operation) => `${op.method} ${op.path.replace(/^\/api\/v\d+/, '')}`;

const POST_BODY = { title: 'Hostile', content: 'A post written by the hostile suite.' };

/** The token placeholder authorization variants use; replaced by the role's own token. */
const TOKEN = '{token}';

function unsignedToken(world: World): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = {
    sub: world.admin.id,
    role: 'admin',
    iss: 'stratum',
    aud: 'stratum-api',
    exp: 4102444800,
  };
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

function forgedToken(world: World): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = {
    sub: world.admin.id,
    role: 'admin',
    iss: 'stratum',
    aud: 'stratum-api',
    exp: 4102444800,
  };
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${Buffer.alloc(32, 7).toString('base64url')}`;
}

const authForms = (world: World): ValueClass => ({
  name: 'auth-forms',
  arb: fc.constantFrom<Value>(
    'Bearer ',
    'Bearer',
    'Bearer x',
    `Bearer ${TOKEN}x`,
    `bearer ${TOKEN}`,
    `BEARER ${TOKEN}`,
    `Bearer  ${TOKEN}`,
    `Bearer ${TOKEN} `,
    TOKEN,
    `Basic ${TOKEN}`,
    `Bearer ${TOKEN}, Bearer ${TOKEN}`,
    `Bearer ${unsignedToken(world)}`,
    `Bearer ${forgedToken(world)}`,
    `Bearer ${'a'.repeat(9000)}`,
    'Bearer \u0130',
  ),
});

export interface Outcome {
  problem?: Problem;
  options: InjectOptions;
  status?: number;
}

export class RestSweep {
  readonly pools: Pools;

  constructor(
    readonly world: World,
    readonly findings: Findings,
    readonly tracker: Tracker,
  ) {
    this.pools = { ids: () => world.knownIds(), emails: () => world.knownEmails() };
  }

  /** The id a baseline request names: one the role may act on, fresh when the call spends it. */
  private idFor(op: Operation, role: Role): Value {
    const w = this.world;
    const path = op.path;
    const person = role === 'admin' ? w.other : w.user;
    if (path.includes('/posts/{id}')) {
      if (op.method === 'DELETE')
        return new Lazy(() => w.freshPost(role === 'admin' ? w.other : w.user));
      return op.method === 'GET' || role !== 'admin' ? w.userPostId : w.otherPostId;
    }
    if (path.includes('/products/{id}'))
      return op.method === 'GET' ? w.productId : w.spareProductId;
    if (path.includes('/accounts/{id}'))
      return role === 'admin' ? w.other.walletId : w.user.walletId;
    if (path.includes('/transfers/{id}')) return w.transferId;
    if (path.includes('/orders/{id}/cancel')) return new Lazy(() => w.freshOrder(w.user));
    if (path.includes('/orders/{id}')) return w.orderId;
    if (/\/users\/\{id\}$/.test(path) && op.method !== 'GET') {
      if (role === 'user' && op.method !== 'DELETE') return w.user.id;
      return w.victim.id;
    }
    return role === 'admin' ? person.id : w.user.id;
  }

  private bodyFor(op: Operation, role: Role): Value {
    const w = this.world;
    switch (unversioned(op)) {
      case 'POST /auth/register':
      case 'POST /users':
        return { name: 'Hostile', email: freshEmail(), password: 'long enough pw' };
      case 'POST /auth/login':
        return { email: w.victim.email, password: w.victim.password };
      case 'POST /auth/refresh':
        return { refreshToken: new Lazy(() => w.freshRefreshToken()) };
      case 'PUT /users/{id}': {
        const target = role === 'user' ? w.user : w.victim;
        return { name: 'Replaced', email: target.email, role: 'user', status: 'active' };
      }
      case 'PATCH /users/{id}':
        return { name: 'Patched' };
      case 'POST /products':
        return { ...PRODUCT };
      case 'PUT /products/{id}':
        return { ...PRODUCT, active: true };
      case 'PATCH /products/{id}':
        return { priceMinor: 3600 };
      case 'POST /posts':
      case 'PUT /posts/{id}':
        return { ...POST_BODY };
      case 'PATCH /posts/{id}':
        return { content: 'Edited.' };
      case 'POST /transfers':
        return {
          fromAccountId: role === 'admin' ? w.other.walletId : w.user.walletId,
          toAccountId: role === 'admin' ? w.user.walletId : w.other.walletId,
          amount: 1,
          currency: 'USD',
        };
      case 'POST /accounts/{id}/deposits':
        return { amount: 100, currency: 'USD' };
      case 'POST /users/{id}/orders':
        return { items: [{ productId: w.productId, quantity: 1 }] };
      case 'POST /users/{id}/two-factor/confirm':
        return { code: '000000' };
      default:
        return op.body ? validFor(op.body, 'body') : undefined;
    }
  }

  /** A request the role may make and that the operation accepts: every variant starts here. */
  baseline(op: Operation, role: Role): Draft {
    const w = this.world;
    const params: Record<string, Value> = {};
    const query: Record<string, Value> = {};
    const headers: Record<string, Value> = {};
    for (const p of op.parameters) {
      if (p.in === 'path')
        params[p.name] = p.name === 'id' ? this.idFor(op, role) : validFor(p.schema, p.name);
      else if (p.in === 'header' && p.name === 'idempotency-key') headers[p.name] = randomUUID();
      else if (p.required && p.in === 'query') query[p.name] = validFor(p.schema, p.name);
      else if (p.required && p.in === 'header') headers[p.name] = validFor(p.schema, p.name);
    }
    if (role !== 'guest') {
      // A logout spends its token: each one gets a fresh login.
      headers.authorization =
        unversioned(op) === 'POST /auth/logout'
          ? new Lazy(async () => {
              const who = role === 'admin' ? w.admin : w.victim;
              return `Bearer ${(await login(w.server, who.email, who.password)).accessToken}`;
            })
          : `Bearer ${w.tokenOf(role)}`;
    }
    return {
      method: op.method,
      path: op.path,
      params,
      query,
      headers,
      body: op.body ? this.bodyFor(op, role) : undefined,
    };
  }

  /** Every place a value goes: parameters, the authorization header, each body field and the body. */
  fieldsOf(op: Operation, draft: Draft): Field[] {
    const fields: Field[] = op.parameters
      .filter((p) => p.in !== 'cookie')
      .map((p) => ({
        where: p.in as Field['where'],
        name: p.name,
        path: [p.name],
        schema: p.schema,
        required: p.required,
      }));
    fields.push({
      where: 'header',
      name: 'authorization',
      path: ['authorization'],
      schema: { type: 'string' },
      required: false,
    });
    if (op.body) {
      fields.push({
        where: 'body',
        name: '(body)',
        path: [],
        schema: normalize(op.body),
        required: true,
      });
      fields.push(...bodyFields(op.body, draft.body));
    }
    return fields;
  }

  classesOf(field: Field, draft: Draft): ValueClass[] {
    if (field.where === 'header' && field.name === 'authorization') return [authForms(this.world)];
    const baselineValue = valueAt(draft, field);
    return classesFor(field, this.pools, baselineValue instanceof Lazy ? 'value' : baselineValue);
  }

  /** Fills the role's token into an authorization variant. */
  private substitute(role: Role, field: Field, value: Value): Value {
    if (field.name !== 'authorization' || typeof value !== 'string') return value;
    return value.split(TOKEN).join(this.world.tokenOf(role) ?? this.world.user.accessToken);
  }

  async send(op: Operation, role: Role, draft: Draft): Promise<Outcome | undefined> {
    const options = await encode(draft, someAddress());
    const stats = this.findings.statsOf(op.name);
    this.tracker.route = undefined;
    this.tracker.validation = false;
    this.tracker.handler = false;
    let res;
    try {
      res = await inject(this.world.server, options);
    } catch {
      // light-my-request refuses some header values a socket would carry; nothing was sent.
      stats.unsendable++;
      return undefined;
    }
    stats.sent++;
    if (res === 'timeout') {
      return { options, problem: { kind: 'no response within 20 s', status: 0 } };
    }
    if (this.tracker.route === op.routeKey) {
      if (this.tracker.validation) stats.validation++;
      if (this.tracker.handler) {
        stats.handler++;
        stats.handlerRoles.add(role);
      }
    }
    const status = res.statusCode;
    if (status < 300) stats.ok++;
    else if (status < 500) stats.clientErrors++;
    else stats.serverErrors++;
    if (!op.statuses.includes(status) && status !== 404 && status !== 413 && status !== 415) {
      stats.undocumentedStatuses.set(status, (stats.undocumentedStatuses.get(status) ?? 0) + 1);
    }
    const problem =
      restProblem(op, status, res.body) ??
      (role === 'user' && status < 300
        ? isolationProblem(op, status, res.body, this.world)
        : undefined);
    return { options, status, problem };
  }

  private report(
    op: Operation,
    role: Role,
    variant: string,
    outcome: Outcome,
    replay?: { seed: number; path?: string },
  ) {
    const problem = outcome.problem!;
    this.findings.add({
      kind: problem.kind,
      operation: op.name,
      role,
      variant,
      status: problem.status,
      code: problem.code,
      message: problem.message,
      example: describeRequest(outcome.options),
      replay,
    });
  }

  /** Sends a fixed variant once and records what is wrong with its answer. */
  async once(
    op: Operation,
    role: Role,
    variant: string,
    draft: Draft,
  ): Promise<Outcome | undefined> {
    const outcome = await this.send(op, role, draft);
    if (outcome?.problem) this.report(op, role, variant, outcome);
    return outcome;
  }

  /**
   * One property: the baseline with this field set to values of this class. fast-check draws
   * RUNS values and, on a failure, shrinks it within the class.
   */
  async property(op: Operation, role: Role, field: Field, klass: ValueClass, timeLimitMs: number) {
    const seed = seedFor(op.name, role, field.where, field.name, klass.name);
    let last: Outcome | undefined;
    const details = await fc.check(
      fc.asyncProperty(klass.arb, async (value) => {
        const draft = withField(
          this.baseline(op, role),
          field,
          this.substitute(role, field, value),
        );
        const outcome = await this.send(op, role, draft);
        if (outcome?.problem) {
          last = outcome;
          return false;
        }
        if (
          outcome?.status !== undefined &&
          outcome.status < 300 &&
          refusedBySchema(field, klass, value)
        ) {
          this.findings.noteAcceptedInvalid(
            op.name,
            `body.${field.name}: ${klass.name}`,
            describeRequest(outcome.options),
          );
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
      this.report(op, role, `${field.where}.${field.name}: ${klass.name}`, last, {
        seed,
        path: details.counterexamplePath ?? undefined,
      });
    }
    return details;
  }

  /** Whole-request variants no single field describes: not JSON, duplicate keys, nesting... */
  structural(op: Operation, role: Role): { name: string; draft: Draft }[] {
    const base = () => this.baseline(op, role);
    const variants: { name: string; draft: Draft }[] = [];
    const add = (name: string, change: (d: Draft) => void) => {
      const draft = base();
      change(draft);
      variants.push({ name, draft });
    };
    add('baseline', () => {});
    add('unversioned path, no api-version', (d) => (d.unversioned = true));
    add('unknown query parameters', (d) => {
      Object.assign(d.query, {
        __proto__x: '1',
        constructor: 'x',
        toString: '1',
        hasOwnProperty: 'x',
      });
      d.query['__proto__[admin]'] = 'true';
    });
    const queryParam = op.parameters.find((p) => p.in === 'query');
    if (queryParam)
      add(`repeated query ${queryParam.name}`, (d) => (d.query[queryParam.name] = ['1', '2']));
    add('huge x-request-id', (d) => (d.headers['x-request-id'] = 'r'.repeat(10_000)));
    add('x-request-id with control characters', (d) => (d.headers['x-request-id'] = 'a\u0001b'));
    add('x-forwarded-for spoof', (d) => (d.headers['x-forwarded-for'] = '127.0.0.1, ::1, \u0130'));
    add('accept: nothing acceptable', (d) => (d.headers.accept = 'application/xml'));
    add('accept-encoding: unknown', (d) => (d.headers['accept-encoding'] = 'zstd;q=1, *;q=0'));
    if (op.method === 'GET' || op.method === 'DELETE') {
      add(
        'body on a bodiless method',
        (d) => (d.raw = { payload: '{"x":1}', contentType: 'application/json' }),
      );
      add(
        'non-JSON body on a bodiless method',
        (d) => (d.raw = { payload: '{', contentType: 'application/json' }),
      );
    }
    if (!op.body) return variants;
    const baseBody = () => base().body as Record<string, Value>;
    const rawJson =
      (payload: string, contentType = 'application/json') =>
      (d: Draft) =>
        (d.raw = { payload, contentType });
    add('unknown field', (d) => ((d.body as Record<string, Value>).unexpected = 'x'));
    add(
      '__proto__ key',
      rawJson(`{"__proto__":{"role":"admin","isAdmin":true},${jsonText(baseBody()).slice(1)}`),
    );
    add(
      'constructor.prototype key',
      rawJson(`{"constructor":{"prototype":{"role":"admin"}},${jsonText(baseBody()).slice(1)}`),
    );
    for (const text of [
      '{"a":',
      'null',
      '[]',
      '"x"',
      '0',
      'true',
      '',
      ' ',
      '{"a":1,}',
      '{"a":NaN}',
      "{'a':1}",
      '\u0000',
    ]) {
      add(`not a JSON object: ${JSON.stringify(text)}`, rawJson(text));
    }
    add(
      'byte order mark',
      (d) =>
        (d.raw = { payload: `\ufeff${jsonText(baseBody())}`, contentType: 'application/json' }),
    );
    add(
      'invalid UTF-8',
      (d) =>
        (d.raw = {
          payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
          contentType: 'application/json',
        }),
    );
    add('text/plain', rawJson(jsonText(baseBody()), 'text/plain'));
    add('form-urlencoded', rawJson('a=1&b=2', 'application/x-www-form-urlencoded'));
    add('multipart', rawJson('--x\r\n\r\n--x--', 'multipart/form-data; boundary=x'));
    add(
      'json with charset=utf-16',
      rawJson(jsonText(baseBody()), 'application/json; charset=utf-16'),
    );
    add('json+suffix type', rawJson(jsonText(baseBody()), 'application/vnd.api+json'));
    add('no content-type', (d) => (d.raw = { payload: jsonText(baseBody()) }));
    add('deeply nested arrays', rawJson(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`));
    add('deeply nested objects', rawJson(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`));
    add('body over the limit', rawJson(`{"a":"${'a'.repeat(1_100_000)}"}`));
    const body = baseBody();
    if (body && typeof body === 'object') {
      for (const [key, value] of Object.entries(body)) {
        if (value instanceof Lazy) continue;
        const hostile =
          typeof value === 'number' ? '-5' : typeof value === 'string' ? '"\\u0000"' : 'null';
        const others = jsonText({ ...body, [key]: undefined }).slice(1, -1);
        const sep = others ? ',' : '';
        add(
          `duplicate key ${key}, hostile last`,
          rawJson(
            `{${others}${sep}${JSON.stringify(key)}:${jsonText(value)},${JSON.stringify(key)}:${hostile}}`,
          ),
        );
        add(
          `duplicate key ${key}, hostile first`,
          rawJson(
            `{${JSON.stringify(key)}:${hostile},${others}${sep}${JSON.stringify(key)}:${jsonText(value)}}`,
          ),
        );
      }
    }
    return variants;
  }
}

const allowsNull = (schema: Schema) =>
  schema.type === 'null' ||
  (Array.isArray(schema.type) && schema.type.includes('null')) ||
  (schema.anyOf ?? schema.oneOf ?? []).some((s) => s.type === 'null');

/**
 * A body value its schema refuses whatever the rest of the request (a wrong JSON type, a
 * number sent as something else, a required field left out), or text the database can't
 * store. A 2xx for one means the server coerced, changed or ignored it.
 */
function refusedBySchema(field: Field, klass: ValueClass, value: Value): boolean {
  if (field.where !== 'body') return false;
  if (value === null && allowsNull(field.schema)) return false;
  if (klass.name === 'absent') return field.required;
  // PostgreSQL text holds neither U+0000 nor a lone surrogate: a 2xx stored something else.
  const unstorable =
    typeof value === 'string' && (value.includes('\u0000') || /\p{Cs}/u.test(value));
  return klass.name === 'wrong-type' || klass.name === 'numberish' || unstorable;
}

function valueAt(draft: Draft, field: Field): Value {
  if (field.where === 'path') return draft.params[field.name];
  if (field.where === 'query') return draft.query[field.name];
  if (field.where === 'header') return draft.headers[field.name];
  let node: Value = draft.body;
  for (const key of field.path) node = (node as Record<string | number, Value> | undefined)?.[key];
  return node;
}

/** Public resources: anyone may read them, so they say nothing about isolation. */
const PUBLIC = /\/(posts|products|profile|health|auth)(\/|$)/;

/**
 * A plain user's 2xx that shows or changes another user's resource: a user record other than
 * their own, an account or order with another owner, a transfer between others' accounts.
 */
export function isolationProblem(
  op: Operation,
  status: number,
  body: string,
  world: World,
): Problem | undefined {
  if (PUBLIC.test(op.path) || !body) return undefined;
  let data: unknown;
  try {
    data = (JSON.parse(body) as { data?: unknown }).data;
  } catch {
    return undefined;
  }
  const me = world.user;
  const items = (Array.isArray(data) ? data : [data]) as Record<string, unknown>[];
  for (const item of items) {
    if (!item || typeof item !== 'object') continue;
    const owner = item.userId;
    const isUser = typeof item.email === 'string' && typeof item.id === 'string';
    const isTransfer =
      typeof item.fromAccountId === 'string' && typeof item.toAccountId === 'string';
    const foreign =
      (typeof owner === 'string' && owner !== me.id) ||
      (isUser && item.id !== me.id) ||
      (isTransfer && item.fromAccountId !== me.walletId && item.toAccountId !== me.walletId);
    if (foreign) {
      return {
        kind: "a user got another user's resource",
        status,
        message: JSON.stringify(abbreviate(item)).slice(0, 200),
      };
    }
  }
  return undefined;
}

/** Documented 503s the suite expects: the readiness check may say the app is not ready. */
const EXPECTED_503 = (op: Operation) => op.path.startsWith('/health/');

/** What is wrong with a REST response, if anything. */
export function restProblem(op: Operation, status: number, body: string): Problem | undefined {
  if (status >= 500 && !(status === 503 && EXPECTED_503(op))) {
    const { code, message } = errorOf(body);
    return { kind: `${status} ${code ?? '(no code)'}`, status, code, message };
  }
  if (status >= 400) return envelopeProblem(status, body);
  return undefined;
}
