import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

/** The query layer every repository uses: the same Kysely API over PostgreSQL or PGlite. */
export type Database = Kysely<DB>;

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * Statements whose text starts with this comment run as named prepared statements on
 * PostgreSQL: parsed and planned once per connection instead of on every call. For the hot
 * statements only (a transfer, an order), whose texts are few and fixed. PGlite reads it as the
 * comment it is.
 */
export const PREPARED = '/* prepared */';

/** A connected database, whichever engine is behind it. */
export interface DatabaseHandle {
  readonly db: Database;
  readonly engine: 'postgres' | 'pglite';
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}
