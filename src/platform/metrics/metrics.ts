import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How long a scrape waits for one source (the database, a queue) before leaving it out. */
const SOURCE_TIMEOUT_MS = 1_000;

export type JobOutcome = 'completed' | 'failed';

/**
 * The process's metrics, in its own registry (not prom-client's global one), so tests can run
 * several apps in one process. Counters are updated where things happen; gauges that describe
 * other systems (the pool, the outbox, the queues) are read when Prometheus scrapes.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'stratum_http_request_duration_seconds',
    help: 'HTTP request duration by route template, method and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'stratum_cache_lookups_total',
    help: 'Cache lookups by kind of entry (user, product) and result (hit, miss)',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly cacheL1Hits = new Counter({
    name: 'stratum_cache_l1_hits_total',
    help: 'Cache hits served in process (two-level cache), without Redis; also counted as hits above',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly shed = new Counter({
    name: 'stratum_load_shed_total',
    help: 'Requests refused with 503 OVERLOADED by the load shedder, by class (normal, critical)',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'stratum_rate_limit_rejections_total',
    help: 'Requests refused with 429 by the global rate limit',
    registers: [this.registry],
  });

  readonly jobs = new Counter({
    name: 'stratum_jobs_total',
    help: 'Job runs by type and outcome (a failed run is retried until its attempts are used)',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'stratum_job_duration_seconds',
    help: 'Job run duration by type',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'stratum_' });
  }

  recordJob(type: string, outcome: JobOutcome, seconds: number): void {
    this.jobs.inc({ type, outcome });
    this.jobDuration.observe({ type }, seconds);
  }

  recordCacheLookup(key: string, hit: boolean, inProcess = false): void {
    // Keys are `stratum:v1:<kind>:<id>`; the kind is the label, never the id.
    const start = 'stratum:v1:'.length;
    const end = key.indexOf(':', start);
    const kind = key.startsWith('stratum:v1:') && end > start ? key.slice(start, end) : 'unknown';
    this.cacheLookups.inc({ kind, result: hit ? 'hit' : 'miss' });
    if (inProcess) this.cacheL1Hits.inc({ kind });
  }

  /**
   * A gauge read at scrape time from `read`, which sets its values. A source that fails or
   * takes too long leaves the gauge without values for that scrape rather than failing it.
   */
  gaugeFrom<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (set: (labels: Partial<Record<L, string>>, value: number) => void) => Promise<void>,
  ): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        await withTimeout(
          read((labels, value) => this.set(labels, value)),
          SOURCE_TIMEOUT_MS,
        ).catch(() => {});
      },
    });
  }
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
