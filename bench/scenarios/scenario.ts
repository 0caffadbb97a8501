import type autocannon from 'autocannon';
import type { Database } from '../../src/platform/db/database.js';

/** What a scenario may read before the load: the seeded benchmark database. */
export interface ScenarioContext {
  db: Database;
  /** The key Stratum signs access tokens with in this run, for scenarios that authenticate. */
  jwtSecret: string;
  /** The Stratum under load, for set-up through its API (deposits, products). */
  stratumUrl: string;
}

export interface LoadPlan {
  /** The requests autocannon cycles through on every connection; setupRequest may vary them. */
  requests: autocannon.Request[];
  /** One concrete path, fetched from both servers first to check they answer alike. */
  samplePath: string;
  /** Headers sent with the sample request too (e.g. a Bearer token the baseline ignores). */
  headers?: Record<string, string>;
  /** A request both servers must answer with the same status and byte-identical bodies. */
  sameBytes?: { method: 'POST'; path: string; headers: Record<string, string>; body: string };
}

/**
 * What Stratum is compared with: a bare server under the same requests (a file under bench/
 * started with `node --import tsx`), or pgbench's TPC-B-like script on the same PostgreSQL,
 * for writes whose cost is the commit (bench/lib/pgbench.ts).
 */
export type Baseline = { kind: 'server'; script: string } | { kind: 'pgbench' };

/**
 * One load scenario: the same requests go to Stratum and to a bare baseline server (or pgbench
 * runs its own), and Stratum's req/s must reach ratioTarget times the baseline's.
 */
export interface Scenario {
  name: string;
  /** One line for the report: what is requested and what the baseline leaves out. */
  description: string;
  /** Null for a scenario that is reported, not compared (e.g. logins, bounded by argon2). */
  ratioTarget: number | null;
  /** Null for none. */
  baseline: Baseline | null;
  /** A latency target: Stratum's p95 (of the round the report keeps) must be below it. */
  p95TargetMs?: number;
  /**
   * A latency target against the baseline: Stratum's p99 at most this many times the
   * baseline's (of the rounds the report keeps).
   */
  p99VsBaseline?: number;
  /**
   * Concurrent connections for this scenario's load, in place of BENCH_CONNECTIONS: a latency
   * target means something only at a stated load. pgbench then runs as many clients, on tables
   * of at least that scale (bench/lib/pgbench.ts, pgbenchFor).
   */
  connections?: number;
  /** Run against a Stratum (and give the baseline) REDIS_URL: caches and limits in Redis. */
  redis?: boolean;
  /** Settings of a Stratum of this scenario's own (e.g. CACHE_ENABLED=false), started for it. */
  stratumEnv?: Record<string, string>;
  /**
   * Measured as an overload (bench/lib/overload.ts) instead of in rounds: capacity at a p99
   * bound, then three times that rate. ratioTarget applies to admitted throughput / capacity.
   */
  overload?: { boundMs: number };
  prepare(context: ScenarioContext): Promise<LoadPlan>;
  /**
   * After each timed Stratum run: waits for work the load left behind (an outbox backlog), so
   * it neither slows the next run nor goes unmentioned; returns a line for the report.
   */
  settle?(context: ScenarioContext): Promise<string>;
}
