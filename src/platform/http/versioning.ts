import type { IncomingMessage } from 'node:http';
import { namedPlugin } from './plugin.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../errors.js';

/**
 * API versions. `/api/v1/...` and `/api/v2/...` name theirs; an unversioned `/api/...` takes it
 * from the `api-version` header (`1`, `2`, `v1`, `v2`; none means 1) and is rewritten to the
 * versioned path before routing, so each version's routes are registered once. A versioned URL
 * wins over the header. An unknown version, in either place, is 400 UNSUPPORTED_API_VERSION.
 */

export const API_VERSIONS = [1, 2] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];
export const DEFAULT_API_VERSION: ApiVersion = 1;
export const API_VERSION_HEADER = 'api-version';

const VERSIONED = /^\/api\/v(\d+)(?=[/?#]|$)/;
const UNVERSIONED = /^\/api(?=[/?#]|$)/;
const HEADER_VALUE = /^v?(\d{1,3})$/i;

/** Set by the rewrite on a request whose header named no supported version (it can't throw). */
const refusedHeader = Symbol('refused api-version header');
type RawRequest = IncomingMessage & { [refusedHeader]?: string };

export class UnsupportedApiVersionError extends BadRequestError {
  constructor(asked: string) {
    super(
      'UNSUPPORTED_API_VERSION',
      `API version "${asked}" is not supported; use one of ${API_VERSIONS.join(', ')}`,
      { supported: API_VERSIONS.map(String) },
    );
  }
}

function isSupported(version: number): version is ApiVersion {
  return (API_VERSIONS as readonly number[]).includes(version);
}

/** The version an api-version header names, undefined when it names none this API serves. */
function headerVersion(raw: string | string[] | undefined): ApiVersion | undefined {
  if (raw === undefined) return DEFAULT_API_VERSION;
  const match = typeof raw === 'string' ? HEADER_VALUE.exec(raw.trim()) : null;
  const version = match ? Number(match[1]) : NaN;
  return isSupported(version) ? version : undefined;
}

/** Fastify's rewriteUrl: gives an unversioned /api request the version its header asks for. */
export function rewriteApiUrl(req: IncomingMessage): string {
  const url = req.url ?? '/';
  if (!UNVERSIONED.test(url) || VERSIONED.test(url)) return url;
  const raw = req.headers[API_VERSION_HEADER];
  const version = headerVersion(raw);
  if (version === undefined) {
    (req as RawRequest)[refusedHeader] = String(raw);
    return url;
  }
  return url.replace(UNVERSIONED, `/api/v${version}`);
}

/** The version a request is served by, after the rewrite; undefined outside /api. */
export function apiVersionOf(request: FastifyRequest): number | undefined {
  const match = VERSIONED.exec(request.url);
  return match ? Number(match[1]) : undefined;
}

export interface Retirement {
  deprecation?: Date;
  sunset?: Date;
  /** A page that explains the retirement and the way to the next version. */
  link?: string;
}

/** The headers that announce a version's retirement; none when nothing is configured. */
function retirementHeaders(retirement: Retirement): Record<string, string> {
  const headers: Record<string, string> = {};
  // RFC 9745: a Structured Field Date, seconds since the epoch.
  if (retirement.deprecation) {
    headers.deprecation = `@${Math.floor(retirement.deprecation.getTime() / 1000)}`;
  }
  // RFC 8594: an HTTP-date.
  if (retirement.sunset) headers.sunset = retirement.sunset.toUTCString();
  return headers;
}

function retirementLinks(retirement: Retirement): string[] {
  if (!retirement.link) return [];
  const links = [`<${retirement.link}>; rel="deprecation"; type="text/html"`];
  if (retirement.sunset) links.push(`<${retirement.link}>; rel="sunset"; type="text/html"`);
  return links;
}

/** The same resource in v2, when v2 has a route for it (RFC 5829 successor-version). */
function successorLink(request: FastifyRequest): string | undefined {
  const pattern = request.routeOptions.url;
  if (!pattern?.startsWith('/api/v1/')) return undefined;
  const successor = pattern.replace('/api/v1/', '/api/v2/');
  if (!request.server.hasRoute({ method: request.method, url: successor })) return undefined;
  const path = request.url.split('?')[0]!.replace('/api/v1/', '/api/v2/');
  return `<${path}>; rel="successor-version"`;
}

/**
 * Refuses unknown versions before anything else runs (authentication, rate limit), tags every
 * /api response with the version that served it, and on v1 adds the retirement headers when
 * they are configured.
 */
function registerVersioning(app: FastifyInstance, v1Retirement: Retirement) {
  const retiring = retirementHeaders(v1Retirement);
  const announced = Object.keys(retiring).length > 0;
  const links = retirementLinks(v1Retirement);
  app.addHook('onRequest', async (request, reply) => {
    const refused = (request.raw as RawRequest)[refusedHeader];
    if (refused !== undefined) throw new UnsupportedApiVersionError(refused);
    const version = apiVersionOf(request);
    if (version === undefined) return;
    if (!isSupported(version)) throw new UnsupportedApiVersionError(`v${version}`);
    void reply.header(API_VERSION_HEADER, String(version));
    if (version !== 1 || !announced) return;
    void reply.headers(retiring);
    const successor = successorLink(request);
    const all = successor ? [...links, successor] : links;
    if (all.length) void reply.header('link', all.join(', '));
  });
}

/** The versioning hook, after the request id (a refused version's answer carries the id). */
export const versioningPlugin = namedPlugin<Retirement>(
  async (app, v1Retirement) => registerVersioning(app, v1Retirement),
  { name: 'api-versioning', dependencies: ['request-id'] },
);
