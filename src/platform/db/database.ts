import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

/** The query layer every repository uses: the same Kysely API over PostgreSQL or PGlite. */
export type Database = Kysely<DB>;

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** A connected database, whichever engine is behind it. */
export interface DatabaseHandle {
  readonly db: Database;
  readonly engine: 'postgres' | 'pglite';
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}
