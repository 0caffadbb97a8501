import { randomUUID } from 'node:crypto';

/** Increments claimed together for one flush; the id makes applying it idempotent. */
export interface CounterBatch {
  id: string;
  counts: Map<string, number>;
}

/**
 * Counters accumulated in the cache and drained in batches (write-behind). `claim` moves all
 * pending counts into a new batch atomically, so an increment lands in exactly one batch; a
 * batch stays stored, leased to its claimer, until `ack`. A claimer that dies leaves it
 * behind; once the lease runs out, `claimOrphan` hands it to another flusher.
 */
export interface PendingCounters {
  increment(field: string, by?: number): Promise<void>;
  claim(leaseMs: number): Promise<CounterBatch | undefined>;
  claimOrphan(leaseMs: number): Promise<CounterBatch | undefined>;
  ack(batchId: string): Promise<void>;
}

/**
 * One process's counters (embedded mode). Batches survive a failed database write, not a crash
 * of the process: without Redis, counts since the last flush die with the process.
 */
export class MemoryPendingCounters implements PendingCounters {
  private pending = new Map<string, number>();
  private readonly batches = new Map<string, { counts: Map<string, number>; leaseUntil: number }>();

  async increment(field: string, by = 1) {
    this.pending.set(field, (this.pending.get(field) ?? 0) + by);
  }

  async claim(leaseMs: number) {
    if (this.pending.size === 0) return undefined;
    const batch = { id: randomUUID(), counts: this.pending };
    this.pending = new Map();
    this.batches.set(batch.id, { counts: batch.counts, leaseUntil: Date.now() + leaseMs });
    return batch;
  }

  async claimOrphan(leaseMs: number) {
    const now = Date.now();
    for (const [id, batch] of this.batches) {
      if (batch.leaseUntil > now) continue;
      batch.leaseUntil = now + leaseMs;
      return { id, counts: new Map(batch.counts) };
    }
    return undefined;
  }

  async ack(batchId: string) {
    this.batches.delete(batchId);
  }
}
