import { CompiledQuery, sql, type Compilable, type Expression } from 'kysely';
import type { Database } from './database.js';

/** How many rows a list has: exact, or PostgreSQL's estimate when counting would cost too much. */
export interface CollectionCount {
  count: number;
  estimated: boolean;
}

interface PlanNode {
  'Plan Rows': number;
}

/**
 * Counts the rows `rows` selects exactly while there are at most `exactUpTo` of them: the count
 * reads at most exactUpTo + 1 rows, whatever the table's size. Past that it answers the
 * planner's estimate (see estimatedCount): an exact count(*) over millions of rows is what
 * makes list endpoints slow.
 */
export async function countOrEstimate<O>(
  db: Database,
  rows: Expression<O> & Compilable<O>,
  exactUpTo: number,
): Promise<CollectionCount> {
  const { rows: counted } = await sql<{ n: number }>`
    select count(*)::int as n from (${rows} limit ${exactUpTo + 1}) as bounded`.execute(db);
  const count = counted[0]?.n ?? 0;
  if (count <= exactUpTo) return { count, estimated: false };
  return estimatedCount(db, rows, count);
}

/**
 * The planner's estimate of how many rows `rows` selects (from pg_class.reltuples scaled to the
 * table's current size, and the column statistics for a filter), for a caller that has already
 * counted `atLeast` of them and stopped: it costs a plan and no rows. Never below `atLeast`,
 * since statistics may lag behind the table (or, for a filter, misjudge how its terms correlate).
 */
export async function estimatedCount<O>(
  db: Database,
  rows: Compilable<O>,
  atLeast: number,
): Promise<CollectionCount> {
  const compiled = rows.compile();
  const { rows: plan } = await db.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    CompiledQuery.raw(`explain (format json) ${compiled.sql}`, [...compiled.parameters]),
  );
  const estimate = Math.round(plan[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0);
  return { count: Math.max(estimate, atLeast), estimated: true };
}
