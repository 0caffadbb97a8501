import autocannon from 'autocannon';
import type { LoadPlan } from '../scenarios/index.js';
import type { ChildServer } from './children.js';
import type { PgbenchOutput } from './pgbench.js';

/** One timed load of one server with autocannon, after an untimed warm-up at the same load. */

export interface LoadSettings {
  connections: number;
  durationS: number;
  warmupS: number;
}

export interface LoadResult {
  reqPerSec: number;
  p50Ms: number;
  /** From every response time of the run: autocannon's own summary stops at p90 and p97.5. */
  p95Ms: number;
  p99Ms: number;
  /**
   * Server CPU time per request: less swayed than req/s when the load generator, PostgreSQL
   * and other work share the machine's cores. Null for pgbench, which has no server process.
   */
  cpuUsPerReq: number | null;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** The non-2xx answers by status ("503 ×1,204, 402 ×3"), absent or empty when there were none. */
  non2xxStatuses?: string;
  /** What the scenario found after the run (the outbox backlog, say). */
  settled?: string;
  /** autocannon's own result object (or pgbench's summary), kept whole for the JSON file. */
  raw: autocannon.Result | PgbenchOutput;
}

/** The value below which a share `p` of the sorted values lie (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** One autocannon run, and every response time of it, sorted. */
function fire(url: string, plan: LoadPlan, connections: number, durationS: number) {
  const latenciesMs: number[] = [];
  return new Promise<{ raw: autocannon.Result; latenciesMs: number[] }>((resolve, reject) => {
    const options = {
      url,
      connections,
      duration: durationS,
      requests: plan.requests,
      // A stalled response should show up as a timeout in the result, not hang the run.
      timeout: 10,
    };
    const run = autocannon(options, (err: Error | null, raw) => {
      if (err) reject(err);
      else resolve({ raw, latenciesMs: latenciesMs.sort((a, b) => a - b) });
    });
    run.on('response', (_client, _status, _bytes, responseTimeMs) => {
      latenciesMs.push(responseTimeMs);
    });
  });
}

export async function measure(
  server: ChildServer,
  plan: LoadPlan,
  settings: LoadSettings,
): Promise<LoadResult> {
  const { baseUrl } = server;
  if (settings.warmupS > 0) await fire(baseUrl, plan, settings.connections, settings.warmupS);
  const cpuBefore = server.cpuSeconds();
  const { raw, latenciesMs } = await fire(baseUrl, plan, settings.connections, settings.durationS);
  const cpuSeconds = server.cpuSeconds() - cpuBefore;
  return {
    reqPerSec: raw.requests.average,
    p50Ms: raw.latency.p50,
    p95Ms: percentile(latenciesMs, 0.95),
    p99Ms: raw.latency.p99,
    cpuUsPerReq: raw.requests.total ? (cpuSeconds * 1e6) / raw.requests.total : 0,
    requests: raw.requests.total,
    errors: raw.errors,
    timeouts: raw.timeouts,
    non2xx: raw.non2xx,
    non2xxStatuses: statusesOf(raw),
    raw,
  };
}

/** autocannon counts every status it saw; the non-2xx ones, most frequent first. */
function statusesOf(raw: autocannon.Result): string {
  return Object.entries(raw.statusCodeStats ?? {})
    .map(([status, stats]) => [status, stats?.count ?? 0] as const)
    .filter(([status, count]) => !status.startsWith('2') && count > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([status, count]) => `${status} ×${count.toLocaleString('en-US')}`)
    .join(', ');
}

/** A run with failed or non-2xx responses measured something else than the scenario. */
export function problemsOf(result: LoadResult): string | undefined {
  const problems = [
    result.errors && `${result.errors} errors`,
    result.timeouts && `${result.timeouts} timeouts`,
    result.non2xx &&
      `${result.non2xx} non-2xx responses${result.non2xxStatuses ? ` (${result.non2xxStatuses})` : ''}`,
  ].filter(Boolean);
  return problems.length ? problems.join(', ') : undefined;
}
