import type autocannon from 'autocannon';
import type { Database } from '../../src/platform/db/database.js';

/** What a scenario may read before the load: the seeded benchmark database. */
export interface ScenarioContext {
  db: Database;
}

export interface LoadPlan {
  /** The requests autocannon cycles through on every connection; setupRequest may vary them. */
  requests: autocannon.Request[];
  /** One concrete path, fetched from both servers first to check they answer alike. */
  samplePath: string;
}

/**
 * One load scenario: the same requests go to Stratum and to a bare baseline server, and
 * Stratum's req/s must reach ratioTarget times the baseline's.
 */
export interface Scenario {
  name: string;
  /** One line for the report: what is requested and what the baseline leaves out. */
  description: string;
  ratioTarget: number;
  /** The baseline server, a file under bench/ started with `node --import tsx`. */
  baseline: string;
  prepare(context: ScenarioContext): Promise<LoadPlan>;
}
