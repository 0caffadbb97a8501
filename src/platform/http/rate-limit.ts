import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RedisClient } from '../redis/connect.js';
import type { Config } from '../../config.js';
import { AppError } from '../errors.js';
import { coalescingRedisStore } from './rate-limit-store.js';
import { namedPlugin } from './plugin.js';

/** Signed-in callers are limited per user, everyone else per client address. */
function rateLimitKey(request: FastifyRequest): string {
  return request.actor.userId ? `user:${request.actor.userId}` : `ip:${request.ip}`;
}

/**
 * The global limit, shared by every API process through Redis when it is configured.
 * Policy when Redis is unreachable: let requests through (skipOnError) rather than refuse
 * all traffic; the login throttle and the database keep their own limits.
 */
async function registerRateLimit(
  app: FastifyInstance,
  config: Config,
  redis?: RedisClient,
  onRejected: () => void = () => {},
) {
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimitMax,
    timeWindow: config.rateLimitWindowMs,
    keyGenerator: rateLimitKey,
    // Without Redis, the plugin's in-memory store.
    store: redis && coalescingRedisStore(redis, 'stratum:v1:rate-limit:'),
    skipOnError: true,
    enableDraftSpec: true,
    // Probes and scrapes come from the platform, on their own schedule.
    allowList: (request) => request.url.startsWith('/health/') || request.url === '/metrics',
    onExceeded: onRejected,
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'RATE_LIMITED', `Rate limit exceeded; retry in ${context.after}`, {
        limit: context.max,
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
}

/**
 * The limiter, after authentication: it keys on `request.actor`, and a bad token is refused
 * (preValidation) only after the limiter has counted it.
 */
export const rateLimitPlugin = namedPlugin<{
  config: Config;
  redis?: RedisClient;
  onRejected?: () => void;
}>(
  async (app, { config, redis, onRejected }) => registerRateLimit(app, config, redis, onRejected),
  {
    name: 'rate-limit',
    dependencies: ['authentication'],
    decorators: { request: ['actor'] },
  },
);
