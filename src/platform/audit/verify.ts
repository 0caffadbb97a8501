import type { Database } from '../db/database.js';
import { eventHash, type DetailValue } from './chain.js';

/** Where a chain stops matching its hashes, and why. */
export interface ChainBreak {
  chainId: string;
  /** The sequence number where the chain breaks. */
  seq: number;
  reason: string;
}

export interface ChainReport {
  chainId: string;
  /** Where verification started: the anchor (0 for a chain never pruned). */
  anchorSeq: number;
  /** The head the chain should end on. */
  headSeq: number;
  /** How many rows were recomputed. */
  checked: number;
  broken?: ChainBreak;
}

const PAGE = 1000;

/**
 * Walks each chain from its anchor to its head, recomputing every row's hash: a changed row
 * no longer matches its hash; a deleted one leaves a gap in the sequence (or a head that is
 * never reached); an inserted one has a sequence or a previous hash that doesn't follow. The
 * first break of a chain is reported; the other chains are still checked.
 */
export class SecurityLogVerifier {
  constructor(private readonly db: Database) {}

  async verifyAll(onChain?: (report: ChainReport) => void): Promise<ChainReport[]> {
    const reports: ChainReport[] = [];
    let after: string | undefined;
    for (;;) {
      let query = this.db
        .selectFrom('security_event_chains')
        .select('chain_id')
        .orderBy('chain_id')
        .limit(PAGE);
      if (after) query = query.where('chain_id', '>', after);
      const chains = await query.execute();
      for (const { chain_id } of chains) {
        const report = await this.verifyChain(chain_id);
        onChain?.(report);
        reports.push(report);
      }
      if (chains.length < PAGE) break;
      after = chains.at(-1)!.chain_id;
    }
    for (const chainId of await this.orphanChains()) {
      const report: ChainReport = {
        chainId,
        anchorSeq: 0,
        headSeq: 0,
        checked: 0,
        broken: { chainId, seq: 0, reason: 'events without a chain head' },
      };
      onChain?.(report);
      reports.push(report);
    }
    return reports;
  }

  async verifyChain(chainId: string): Promise<ChainReport> {
    const chain = await this.db
      .selectFrom('security_event_chains')
      .selectAll()
      .where('chain_id', '=', chainId)
      .executeTakeFirst();
    if (!chain) {
      const any = await this.db
        .selectFrom('security_events')
        .select('seq')
        .where('chain_id', '=', chainId)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      const report = { chainId, anchorSeq: 0, headSeq: 0, checked: 0 };
      return any
        ? { ...report, broken: { chainId, seq: Number(any.seq), reason: 'no chain head' } }
        : report;
    }
    const anchorSeq = Number(chain.anchor_seq);
    const headSeq = Number(chain.seq);
    const report: ChainReport = { chainId, anchorSeq, headSeq, checked: 0 };
    const fail = (seq: number, reason: string) => ({ ...report, broken: { chainId, seq, reason } });
    let expectedSeq = anchorSeq + 1;
    let prevHash = chain.anchor_hash;
    for (;;) {
      const rows = await this.db
        .selectFrom('security_events')
        .selectAll()
        .where('chain_id', '=', chainId)
        .where('seq', '>=', expectedSeq)
        .orderBy('seq')
        .limit(PAGE)
        .execute();
      for (const row of rows) {
        const seq = Number(row.seq);
        if (seq !== expectedSeq) return fail(expectedSeq, `sequence ${expectedSeq} is missing`);
        if (row.prev_hash !== prevHash) {
          return fail(seq, 'its previous hash is not the hash of the row before it');
        }
        const recomputed = eventHash({
          chainId,
          seq,
          prevHash,
          id: row.id,
          userId: row.user_id,
          actorId: row.actor_id,
          type: row.type,
          outcome: row.outcome,
          ip: row.ip,
          userAgent: row.user_agent,
          requestId: row.request_id,
          details: row.details as Record<string, DetailValue>,
          createdAt: row.created_at,
        });
        if (recomputed !== row.hash) return fail(seq, 'its contents do not match its hash');
        report.checked++;
        prevHash = row.hash;
        expectedSeq++;
      }
      if (rows.length < PAGE) break;
    }
    // Rows the query above never reached: below the anchor (pruning left them) are harmless.
    if (expectedSeq - 1 < headSeq) return fail(expectedSeq, `sequence ${expectedSeq} is missing`);
    if (expectedSeq - 1 > headSeq) {
      return fail(headSeq + 1, `sequence ${headSeq + 1} is past the chain's head`);
    }
    if (prevHash !== chain.head_hash) {
      return fail(headSeq, "the last row's hash is not the chain's head hash");
    }
    return report;
  }

  /** Chains with events but no head row (a head deleted by hand). */
  private async orphanChains(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('security_events as e')
      .select('e.chain_id')
      .distinct()
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('security_event_chains as c')
              .select('c.chain_id')
              .whereRef('c.chain_id', '=', 'e.chain_id'),
          ),
        ),
      )
      .execute();
    return rows.map((r) => r.chain_id);
  }
}
