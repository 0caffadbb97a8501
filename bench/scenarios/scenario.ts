import type autocannon from 'autocannon';
import type { Database } from '../../src/platform/db/database.js';

/** What a scenario may read before the load: the seeded benchmark database. */
export interface ScenarioContext {
  db: Database;
  /** The key Stratum signs access tokens with in this run, for scenarios that authenticate. */
  jwtSecret: string;
}

export interface LoadPlan {
  /** The requests autocannon cycles through on every connection; setupRequest may vary them. */
  requests: autocannon.Request[];
  /** One concrete path, fetched from both servers first to check they answer alike. */
  samplePath: string;
  /** Headers sent with the sample request too (e.g. a Bearer token the baseline ignores). */
  headers?: Record<string, string>;
}

/**
 * One load scenario: the same requests go to Stratum and to a bare baseline server, and
 * Stratum's req/s must reach ratioTarget times the baseline's.
 */
export interface Scenario {
  name: string;
  /** One line for the report: what is requested and what the baseline leaves out. */
  description: string;
  /** Null for a scenario that is reported, not compared (e.g. logins, bounded by argon2). */
  ratioTarget: number | null;
  /** The baseline server, a file under bench/ started with `node --import tsx`; null for none. */
  baseline: string | null;
  /** Run against a Stratum (and give the baseline) REDIS_URL: caches and limits in Redis. */
  redis?: boolean;
  prepare(context: ScenarioContext): Promise<LoadPlan>;
}
