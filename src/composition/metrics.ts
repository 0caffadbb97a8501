import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { Metrics } from '../platform/metrics/metrics.js';
import { registerMetricsRoute } from '../platform/metrics/route.js';
import { observeRequests, watchSources } from '../platform/metrics/sources.js';
import type { Dependencies } from './dependencies.js';
import type { Jobs } from './jobs.js';

/**
 * The process's metrics (API and worker alike): request durations, cache lookups, job
 * outcomes, and the pool, outbox and queue gauges read at scrape time; `/metrics` when enabled.
 */
export function instrument(
  server: FastifyInstance,
  config: Config,
  deps: Dependencies,
  jobs: Jobs,
) {
  const metrics = new Metrics();
  observeRequests(server, metrics);
  deps.cache.observeLookups((key, hit, inProcess) =>
    metrics.recordCacheLookup(key, hit, inProcess),
  );
  jobs.registry.observeOutcomes((type, outcome, ms) => metrics.recordJob(type, outcome, ms / 1000));
  watchSources(metrics, {
    database: deps.database,
    outbox: jobs.outbox,
    queues: [...(jobs.queues?.values() ?? [])],
  });
  if (config.metricsEnabled) {
    registerMetricsRoute(server, metrics, {
      token: config.metricsToken,
      allow: config.metricsAllow,
    });
  }
  return metrics;
}
