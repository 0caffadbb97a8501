import { sql, type RawBuilder } from 'kysely';

/**
 * A position in a list ordered newest first, by (created_at DESC, id DESC): the last row a page
 * showed. The next page is every row after it, which an index on those two columns serves by
 * seeking, so page 10,000 costs what page 1 costs and rows inserted meanwhile (newer, so before
 * the position) never shift the pages that follow.
 */
export interface Keyset {
  createdAt: Date;
  id: string;
}

/**
 * The condition "the row comes after `after`" for a table with created_at and id columns.
 * created_at has microseconds but a Date keeps milliseconds, so the position's exact timestamp
 * is read back from its row by primary key; without that, rows sharing the row's millisecond
 * (a batch inserted in one statement shares one now()) would be skipped. If the row was deleted
 * meanwhile, the cursor's own millisecond timestamp stands in.
 */
export function rowsAfter(table: 'users' | 'posts', after: Keyset): RawBuilder<boolean> {
  const exactCreatedAt = sql`(select k.created_at from ${sql.table(table)} as k where k.id = ${after.id}::uuid)`;
  return sql<boolean>`(${sql.ref(`${table}.created_at`)}, ${sql.ref(`${table}.id`)}) < (coalesce(${exactCreatedAt}, ${after.createdAt.toISOString()}::timestamptz), ${after.id}::uuid)`;
}
