import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { CompiledQuery, sql, type KyselyPlugin } from 'kysely';
import type { Database } from '../../src/platform/db/database.js';

/** EXPLAIN on exactly what a repository sends: how repository suites check their indexes. */

export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

export function planNodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(planNodes)];
}

export function usesIndex(plan: PlanNode, index: string): boolean {
  return planNodes(plan).some((node) => node['Index Name'] === index);
}

/**
 * A view of the database that records each query as Kysely compiles it, so EXPLAIN runs on
 * exactly the SQL and parameters the repository sends, not on a hand-copied imitation.
 */
export function recordingDatabase(db: Database) {
  const queries: CompiledQuery[] = [];
  const recorder: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      queries.push(db.getExecutor().compileQuery(node, queryId));
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  /** The one statement that work sent. */
  async function queryOf(work: () => Promise<unknown>): Promise<CompiledQuery> {
    queries.length = 0;
    await work();
    assert.equal(queries.length, 1, 'the repository sent one statement');
    return queries[0]!;
  }
  return { db: db.withPlugin(recorder), queries, queryOf };
}

/**
 * The plan of a recorded query. `seqscan = false` also turns off bitmap scans and explicit
 * sorts, so what is left is the question an index test asks: can an index give these rows in
 * this order? (A bitmap scan returns rows in physical order, which then need a sort.)
 */
export async function explain(
  db: Database,
  query: CompiledQuery,
  seqscan = true,
): Promise<PlanNode> {
  return db.transaction().execute(async (tx) => {
    // `set local` ends with this transaction, so no other query sees it.
    if (!seqscan) {
      await sql`set local enable_seqscan = off`.execute(tx);
      await sql`set local enable_bitmapscan = off`.execute(tx);
      await sql`set local enable_sort = off`.execute(tx);
    }
    const { rows } = await tx.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]),
    );
    return rows[0]!['QUERY PLAN'][0].Plan;
  });
}

/**
 * Asserts that the index gives the query's rows in order, without a sort. count(*) over () has
 * to read every matching row: PostgreSQL 15 still picks the index, newer planners (PGlite is
 * 18) cost that honestly and may find a seq scan plus a sort cheaper when most rows match. So
 * a plan without the index is explained again with those alternatives off, in that transaction
 * only: the question left is the one asked, can the index serve this filter and order? If it
 * could not, the plan would still sort or use another index.
 */
export async function assertIndexServesInOrder(
  t: TestContext,
  db: Database,
  query: CompiledQuery,
  index: string,
): Promise<void> {
  let plan = await explain(db, query);
  const sorts = (p: PlanNode) => planNodes(p).some((node) => node['Node Type'] === 'Sort');
  // A near-empty table also tempts the planner into a bitmap scan plus a sort.
  if (!usesIndex(plan, index) || sorts(plan)) {
    t.diagnostic('planner preferred another plan; re-explained with seq scans and sorts off');
    plan = await explain(db, query, false);
  }
  assert.ok(usesIndex(plan, index), JSON.stringify(plan));
  const nodeTypes = planNodes(plan).map((node) => node['Node Type']);
  assert.ok(!nodeTypes.includes('Sort'), `no sort expected: ${nodeTypes.join(' > ')}`);
}
