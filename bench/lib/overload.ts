import http from 'node:http';
import autocannon from 'autocannon';
import type { LoadPlan } from '../scenarios/index.js';
import type { ChildServer } from './children.js';
import { percentile, type LoadResult } from './load.js';

/**
 * The overload scenario's measurement: capacity first (the highest offered rate whose p99 stays
 * under the bound, stepping the rate up), then three times that rate, with /health/live
 * probed throughout. 503 OVERLOADED answers are the shedder doing its job; any other non-2xx
 * answer, error or timeout is an admitted request that failed.
 */

export interface OverloadSettings {
  /** The p99 (ms) that defines capacity. */
  boundMs: number;
  /** Connections autocannon may use: enough that the offered rate is never connection-bound. */
  connections: number;
  stepS: number;
  durationS: number;
  warmupS: number;
}

interface RateRun {
  offered: number;
  result: LoadResult;
  refused: number;
  failed: number;
  total: number;
}

const FIRST_RATE = 10;
const STEP_FACTOR = 1.3;
const MAX_STEPS = 20;
const HEALTH_EVERY_MS = 100;

/** One run at a fixed overall rate; latencies of the 2xx answers only. */
function atRate(server: ChildServer, plan: LoadPlan, rate: number, connections: number, s: number) {
  const admittedMs: number[] = [];
  let refused = 0;
  let failed = 0;
  return new Promise<RateRun>((resolve, reject) => {
    const run = autocannon(
      {
        url: server.baseUrl,
        connections: Math.min(connections, Math.max(1, Math.ceil(rate))),
        overallRate: Math.max(1, Math.round(rate)),
        duration: s,
        requests: plan.requests,
        timeout: 10,
      },
      (err: Error | null, raw) => {
        if (err) return reject(err);
        admittedMs.sort((a, b) => a - b);
        failed += raw.errors + raw.timeouts;
        const result: LoadResult = {
          reqPerSec: admittedMs.length / s,
          p50Ms: percentile(admittedMs, 0.5),
          p95Ms: percentile(admittedMs, 0.95),
          p99Ms: percentile(admittedMs, 0.99),
          cpuUsPerReq: null,
          requests: admittedMs.length,
          errors: raw.errors,
          timeouts: raw.timeouts,
          // Only the failures count here: 503 OVERLOADED is the expected refusal.
          non2xx: failed - raw.errors - raw.timeouts,
          raw,
        };
        resolve({ offered: rate, result, refused, failed, total: raw.requests.total });
      },
    );
    run.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) admittedMs.push(ms);
      else if (status === 503) refused++;
      else failed++;
    });
  });
}

/** /health/live every HEALTH_EVERY_MS until stopped: each answer's time, or Infinity on failure. */
function probeHealth(server: ChildServer) {
  const times: number[] = [];
  let stopped = false;
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const request = http.get(`${server.baseUrl}/health/live`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => {
          times.push(res.statusCode === 200 ? performance.now() - started : Infinity);
          resolve();
        });
      });
      request.on('error', () => {
        times.push(Infinity);
        resolve();
      });
    });
  const loop = (async () => {
    while (!stopped) {
      await Promise.all([once(), new Promise((r) => setTimeout(r, HEALTH_EVERY_MS))]);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return times.sort((a, b) => a - b);
  };
}

export interface OverloadReport {
  capacity: RateRun;
  overload: RateRun;
  healthMs: { p99: number; max: number; probes: number };
  lines: string[];
}

export async function measureOverload(
  server: ChildServer,
  plan: LoadPlan,
  settings: OverloadSettings,
  log: (line: string) => void,
): Promise<OverloadReport> {
  // Untimed: the first requests compile serializers and the GraphQL query.
  await atRate(server, plan, FIRST_RATE, settings.connections, settings.warmupS);
  let capacity: RateRun | undefined;
  let rate = FIRST_RATE;
  for (let step = 0; step < MAX_STEPS; step++) {
    const run = await atRate(server, plan, rate, settings.connections, settings.stepS);
    const over = run.result.p99Ms > settings.boundMs || run.refused + run.failed > 0;
    log(
      `  overload capacity step: offered ${Math.round(rate)}/s, admitted ${Math.round(run.result.reqPerSec)}/s, p99 ${run.result.p99Ms.toFixed(1)} ms, refused ${run.refused}, failed ${run.failed}${over ? ' (over)' : ''}`,
    );
    if (over) break;
    capacity = run;
    rate *= STEP_FACTOR;
  }
  if (!capacity)
    throw new Error(`overload: even ${FIRST_RATE} req/s had p99 over ${settings.boundMs} ms`);
  const offered = capacity.result.reqPerSec * 3;
  const stop = probeHealth(server);
  const overload = await atRate(server, plan, offered, settings.connections, settings.durationS);
  const health = await stop();
  const healthMs = {
    p99: percentile(health, 0.99),
    max: health.at(-1) ?? Infinity,
    probes: health.length,
  };
  const lines = [
    `capacity (p99 ≤ ${settings.boundMs} ms): ${Math.round(capacity.result.reqPerSec)} req/s, p99 ${capacity.result.p99Ms.toFixed(1)} ms`,
    `offered 3× = ${Math.round(offered)} req/s: admitted ${Math.round(overload.result.reqPerSec)} req/s (${((100 * overload.result.reqPerSec) / capacity.result.reqPerSec).toFixed(0)} % of capacity), admitted p99 ${overload.result.p99Ms.toFixed(1)} ms (${(overload.result.p99Ms / capacity.result.p99Ms).toFixed(1)}× the p99 at capacity)`,
    `refused 503: ${overload.refused} of ${overload.total} (${((100 * overload.refused) / Math.max(1, overload.total)).toFixed(0)} %); admitted failures: ${overload.failed}`,
    `/health/live during the overload: ${healthMs.probes} probes, p99 ${healthMs.p99.toFixed(1)} ms, max ${healthMs.max.toFixed(1)} ms`,
  ];
  return { capacity, overload, healthMs, lines };
}
