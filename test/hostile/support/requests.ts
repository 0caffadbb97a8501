import type { FastifyInstance, InjectOptions, LightMyRequestResponse as Response } from 'fastify';
import { ABSENT, RawNumber, type Field, type Value } from './values.js';

/** A value computed when the request is sent (a fresh post to delete), unless a variant replaced it. */
export class Lazy {
  constructor(readonly get: () => Promise<Value>) {}
}

/** A request before encoding: its parts as values, any of which a variant may replace. */
export interface Draft {
  method: string;
  /** The documented path with `{param}` placeholders. */
  path: string;
  params: Record<string, Value>;
  query: Record<string, Value>;
  headers: Record<string, Value>;
  body: Value;
  /** A body sent as is (not JSON, duplicate keys), with its content type. */
  raw?: { payload: string | Buffer; contentType?: string };
  /** Sent without the `/vN` segment, the version coming from the api-version header. */
  unversioned?: boolean;
}

function clone(value: Value): Value {
  if (Array.isArray(value)) return value.map(clone);
  if (
    value &&
    typeof value === 'object' &&
    !(value instanceof Lazy) &&
    !(value instanceof RawNumber)
  ) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]));
  }
  return value;
}

export function cloneDraft(draft: Draft): Draft {
  return {
    ...draft,
    params: { ...draft.params },
    query: { ...draft.query },
    headers: { ...draft.headers },
    body: clone(draft.body),
  };
}

/** The draft with one field set to a value (ABSENT removes it). */
export function withField(draft: Draft, field: Field, value: Value): Draft {
  const next = cloneDraft(draft);
  if (field.where !== 'body') {
    const target =
      field.where === 'path' ? next.params : field.where === 'query' ? next.query : next.headers;
    if (value === ABSENT) delete target[field.name];
    else target[field.name] = value;
    if (field.where === 'header' && field.name === 'api-version') next.unversioned = true;
    return next;
  }
  if (field.path.length === 0) {
    next.body = value;
    return next;
  }
  if (next.body === null || typeof next.body !== 'object') next.body = {};
  let node = next.body as Record<string | number, Value>;
  for (const key of field.path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object')
      node[key] = typeof key === 'number' ? [] : {};
    node = node[key] as Record<string | number, Value>;
  }
  const last = field.path[field.path.length - 1]!;
  if (value === ABSENT) delete node[last];
  else node[last] = value;
  return next;
}

async function settle(value: Value): Promise<Value> {
  if (value instanceof Lazy) return value.get();
  if (Array.isArray(value)) return Promise.all(value.map(settle));
  if (value && typeof value === 'object' && !(value instanceof RawNumber)) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await settle(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

/** Percent-encoding that also writes lone surrogates (as the bytes WTF-8 gives them). */
export function encodePart(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const isHigh = unit >= 0xd800 && unit <= 0xdbff;
    const nextUnit = text.charCodeAt(i + 1);
    if (isHigh && nextUnit >= 0xdc00 && nextUnit <= 0xdfff) {
      out += encodeURIComponent(text.slice(i, i + 2));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      const bytes = [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)];
      out += bytes.map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(text[i]!);
    }
  }
  return out;
}

function scalarText(value: Value): string {
  if (value instanceof RawNumber) return value.text;
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return '';
}

function queryString(query: Record<string, Value>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === ABSENT || value === undefined) continue;
    if (value === null) parts.push(encodePart(key));
    else if (Array.isArray(value))
      for (const v of value) parts.push(`${encodePart(key)}=${encodePart(scalarText(v))}`);
    else if (typeof value === 'object' && !(value instanceof RawNumber)) {
      for (const [k, v] of Object.entries(value))
        parts.push(`${encodePart(`${key}[${k}]`)}=${encodePart(scalarText(v))}`);
    } else parts.push(`${encodePart(key)}=${encodePart(scalarText(value))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** JSON text, with RawNumbers written exactly. */
export function jsonText(value: Value): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    const original = (this as Record<string, unknown>)[key];
    if (original instanceof RawNumber) {
      raws.push(original.text);
      return `@@raw${raws.length - 1}@@`;
    }
    return v;
  });
  return text.replace(/"@@raw(\d+)@@"/g, (_m, i: string) => raws[Number(i)]!);
}

/** The request as `server.inject` takes it. */
export async function encode(draft: Draft, remoteAddress: string): Promise<InjectOptions> {
  const params = (await settle(draft.params)) as Record<string, Value>;
  const query = (await settle(draft.query)) as Record<string, Value>;
  const headers = (await settle(draft.headers)) as Record<string, Value>;
  const body = await settle(draft.body);
  let path = draft.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = params[name];
    return value === ABSENT || value === undefined ? '' : encodePart(scalarText(value));
  });
  if (draft.unversioned) path = path.replace(/^\/api\/v\d+\//, '/api/');
  const outHeaders: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === ABSENT || value === undefined) continue;
    outHeaders[key] = scalarText(value);
  }
  const options: InjectOptions = {
    method: draft.method,
    url: path + queryString(query),
    headers: outHeaders,
    remoteAddress,
  };
  if (draft.raw) {
    options.payload = draft.raw.payload;
    if (draft.raw.contentType !== undefined) outHeaders['content-type'] = draft.raw.contentType;
  } else if (body !== ABSENT && body !== undefined) {
    options.payload = jsonText(body);
    outHeaders['content-type'] ??= 'application/json';
  }
  return options;
}

export const REQUEST_TIMEOUT_MS = 20_000;

/** Injects with a deadline: a request that never answers is a finding, not a stuck suite. */
export async function inject(
  server: FastifyInstance,
  options: InjectOptions,
): Promise<Response | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([server.inject(options), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The request for a report: the body shortened, and parsed back when it is JSON. */
export function describeRequest(options: InjectOptions): Record<string, unknown> {
  const payload = options.payload;
  let body: unknown = payload;
  if (typeof payload === 'string') {
    try {
      body =
        payload.length > 2000
          ? `${payload.slice(0, 200)}…(${payload.length} chars)`
          : JSON.parse(payload);
    } catch {
      body = payload.length > 300 ? `${payload.slice(0, 200)}…(${payload.length} chars)` : payload;
    }
  } else if (Buffer.isBuffer(payload)) {
    body = `<${payload.length} bytes>`;
  }
  const headers = { ...(options.headers as Record<string, string>) };
  if (headers.authorization)
    headers.authorization = headers.authorization.replace(/ey[\w-]+\.[\w-]+\.[\w-]+/, '<token>');
  const url =
    typeof options.url === 'string' && options.url.length > 400
      ? `${options.url.slice(0, 300)}…`
      : options.url;
  return { method: options.method, url, headers, ...(body !== undefined ? { body } : {}) };
}
