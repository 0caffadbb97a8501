import { sql, type RawBuilder } from 'kysely';
import type { Database } from './database.js';

/** `time` lies more than `ms` back, on the database's clock, which also stamped the rows. */
export const olderThan = (time: RawBuilder<unknown>, ms: number) =>
  sql<boolean>`${time} < now() - ${ms} * interval '1 millisecond'`;

/**
 * Deletes at most `limit` rows of `table` that match `where`, and returns how many. Rows another
 * transaction holds are skipped, not waited for: pruners running in several processes at once
 * split the rows between them, and a short statement never holds many locks for long.
 */
export async function deleteBatch(
  db: Database,
  table: string,
  key: string,
  where: RawBuilder<boolean>,
  limit: number,
): Promise<number> {
  const result = await sql`
    delete from ${sql.table(table)} where ${sql.ref(key)} in (
      select ${sql.ref(key)} from ${sql.table(table)}
       where ${where}
       limit ${limit}
         for update skip locked)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
