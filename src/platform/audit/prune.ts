import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import { olderThan } from '../db/delete-batch.js';
import { withTransaction } from '../db/transaction.js';

/**
 * Deletes up to `limit` security events older than `retentionMs`, only ever the oldest part of
 * a chain: a chain is cut before its first row younger than the retention, so no gap is left.
 * Each chain cut keeps the sequence number and hash of its last deleted row as its anchor, from
 * which verification starts. Only rows that follow the anchor without a gap go (a chain someone
 * cut by hand keeps its gap for the verifier to find). The chains' head rows are locked (SKIP LOCKED: another pruner, or
 * an append, holds them and they wait for the next round), so two pruners never cut one chain
 * at once and an anchor only moves forward. The delete runs under the transaction-local flag the
 * append-only trigger lets through.
 */
export async function pruneSecurityEvents(
  db: Database,
  retentionMs: number,
  limit: number,
): Promise<number> {
  return withTransaction(db, async (tx) => {
    const expired = olderThan(sql.ref('e.created_at'), retentionMs);
    const chains = await sql<{ chain_id: string }>`
      select chain_id from security_event_chains
       where chain_id in (
         select e.chain_id from security_events e where ${expired} limit ${limit})
       for update skip locked`.execute(tx);
    if (chains.rows.length === 0) return 0;
    await sql`select set_config('stratum.security_log_pruning', 'on', true)`.execute(tx);
    const ids = sql.join(chains.rows.map((c) => sql`${c.chain_id}::uuid`));
    const laterKept = olderThan(sql.ref('f.created_at'), retentionMs);
    const result = await sql<{ deleted: string | number }>`
      with numbered as (
        select e.id, e.chain_id, e.seq, e.hash, e.created_at,
               row_number() over (partition by e.chain_id order by e.seq) as n
          from security_events e
         where e.chain_id in (${ids})),
      doomed as (
        select e.id, e.chain_id, e.seq, e.hash from numbered e
          join security_event_chains c on c.chain_id = e.chain_id
         where e.seq = c.anchor_seq + e.n and ${expired}
           and not exists (
             select 1 from security_events f
              where f.chain_id = e.chain_id and f.seq < e.seq and not ${laterKept})
         order by e.chain_id, e.seq
         limit ${limit}),
      gone as (
        delete from security_events e using doomed d where e.id = d.id
        returning d.chain_id, d.seq, d.hash),
      cut as (
        select distinct on (chain_id) chain_id, seq, hash from gone
         order by chain_id, seq desc),
      anchored as (
        update security_event_chains c
           set anchor_seq = cut.seq, anchor_hash = cut.hash, updated_at = now()
          from cut where c.chain_id = cut.chain_id
        returning 1)
      select count(*) as deleted from gone`.execute(tx);
    return Number(result.rows[0]?.deleted ?? 0);
  });
}
