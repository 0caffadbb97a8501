import type { Selectable } from 'kysely';
import type { DB } from '../../src/platform/db/schema.js';

/**
 * What a select of each table returns, as Kysely reads the hand-written types in schema.ts:
 * test/services/schema-drift.test.ts reads this type with the TypeScript compiler and compares
 * it with the migrated database.
 */
export type SchemaRows = { [T in keyof DB]: Selectable<DB[T]> };
