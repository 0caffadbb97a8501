import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Metrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

export interface MetricsAccess {
  /** When set, a scrape must send `Authorization: Bearer <token>`. */
  token?: string;
  /** When non-empty, the scraper's address must match one of these addresses or CIDRs. */
  allow: string[];
}

/** Addresses and CIDRs (as config.ts validates them) as a matcher; IPv4-mapped IPv6 included. */
function addressMatcher(entries: string[]): (ip: string) => boolean {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (ip) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    const address = mapped ?? ip;
    return list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  };
}

function tokenMatches(request: FastifyRequest, token: string): boolean {
  const given = Buffer.from(request.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `/metrics` in Prometheus's text format, outside /api (no envelope, no rate limit, no JWT):
 * guarded by its own token and/or address allow-list (see METRICS_TOKEN, METRICS_ALLOW).
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: Metrics,
  access: MetricsAccess,
) {
  const allowed = access.allow.length > 0 ? addressMatcher(access.allow) : undefined;
  app.get(
    METRICS_PATH,
    { schema: { hide: true }, config: { ownAuthorization: true, neverShed: true } },
    async (request, reply) => {
      if (allowed && !allowed(request.ip)) throw new ForbiddenError('Not an allowed scraper');
      if (access.token !== undefined && !tokenMatches(request, access.token)) {
        throw new UnauthorizedError('A valid metrics token is required');
      }
      return reply
        .header('content-type', metrics.registry.contentType)
        .send(await metrics.registry.metrics());
    },
  );
}
