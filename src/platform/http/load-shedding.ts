import type { FastifyInstance, FastifyRequest } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import { OverloadedError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A request that must get through when the process is overloaded (money writes, token
     * refresh): admitted from a reserved share of in-flight capacity, whatever the pressure.
     */
    critical?: boolean;
    /** Never refused by the load shedder: health checks and the metrics scrape. */
    neverShed?: boolean;
  }
}

export type LoadClass = 'normal' | 'critical';

export interface LoadSheddingOptions {
  /** Requests of the normal class in flight at once; more are refused. 0 = no limit. */
  maxInFlight: number;
  /** Requests of the critical class in flight at once: their reserve, apart from the rest. */
  criticalInFlight: number;
  /** Event-loop delay (ms, mean over the last sample) above which normal requests are refused. 0 = off. */
  maxEventLoopDelayMs: number;
  /** Share of V8's heap limit in use above which normal requests are refused. 0 = off. */
  maxHeapRatio: number;
  /** Requests waiting for a database connection above which normal requests are refused. 0 = off. */
  maxPoolWaiting: number;
  /** The Retry-After a refusal carries, in seconds. */
  retryAfterS: number;
  /** How often the event-loop delay and the heap are read. */
  sampleIntervalMs: number;
}

export interface Pressure {
  /** Why a normal request would be refused now, or undefined when it wouldn't. */
  reason(): string | undefined;
  stop(): void;
}

/** The event loop and the heap, read every sampleIntervalMs; the pool read per request. */
export function watchPressure(options: LoadSheddingOptions, poolWaiting: () => number): Pressure {
  const { maxEventLoopDelayMs, maxHeapRatio, maxPoolWaiting } = options;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let sampled: string | undefined;
  const heapLimit = v8.getHeapStatistics().heap_size_limit;
  const timer = setInterval(() => {
    // The histogram's resolution is itself a delay of every sample: what is above it is lag.
    const delayMs = Math.max(0, histogram.mean / 1e6 - 10);
    histogram.reset();
    const heapRatio = process.memoryUsage().heapUsed / heapLimit;
    sampled =
      maxEventLoopDelayMs > 0 && delayMs > maxEventLoopDelayMs
        ? `event-loop delay ${Math.round(delayMs)} ms`
        : maxHeapRatio > 0 && heapRatio > maxHeapRatio
          ? `heap at ${Math.round(heapRatio * 100)} %`
          : undefined;
  }, options.sampleIntervalMs);
  timer.unref();
  return {
    reason() {
      if (sampled) return sampled;
      if (maxPoolWaiting > 0 && poolWaiting() > maxPoolWaiting) return 'database pool queue';
      return undefined;
    },
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}

/**
 * Refuses work the process can't take now, before it costs anything: an onRequest hook, the
 * first after the request id, so a refused request is neither authenticated nor parsed. A
 * refusal is an OverloadedError, answered by the error handler in the usual envelope.
 *
 * - `neverShed` routes (health, metrics) always pass.
 * - `critical` routes pass while fewer than criticalInFlight of them are in flight: a reserve
 *   that normal traffic can't take, under any pressure.
 * - everything else passes while fewer than maxInFlight normal requests are in flight and no
 *   pressure (event-loop delay, heap, database pool queue) is over its threshold.
 *
 * A request stops counting when its response closes (sent, or the client went away).
 */
export function registerLoadShedding(
  app: FastifyInstance,
  options: LoadSheddingOptions,
  pressure: Pressure,
  onShed: (loadClass: LoadClass, reason: string) => void,
) {
  const inFlight: Record<LoadClass, number> = { normal: 0, critical: 0 };
  const limits: Record<LoadClass, number> = {
    normal: options.maxInFlight,
    critical: options.criticalInFlight,
  };
  const classOf = (request: FastifyRequest): LoadClass | undefined => {
    const config = request.routeOptions.config;
    if (config.neverShed) return undefined;
    return config.critical ? 'critical' : 'normal';
  };
  app.addHook('onRequest', async (request, reply) => {
    const loadClass = classOf(request);
    if (!loadClass) return;
    const limit = limits[loadClass];
    const reason =
      limit > 0 && inFlight[loadClass] >= limit
        ? `${loadClass} requests in flight at the limit of ${limit}`
        : loadClass === 'normal'
          ? pressure.reason()
          : undefined;
    if (reason) {
      onShed(loadClass, reason);
      throw new OverloadedError(options.retryAfterS);
    }
    inFlight[loadClass]++;
    reply.raw.once('close', () => inFlight[loadClass]--);
  });
  app.addHook('onClose', async () => pressure.stop());
}
