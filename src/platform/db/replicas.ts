import { sql } from 'kysely';
import type { Database, DatabaseHandle } from './database.js';

/**
 * Reads marked replica-safe go to a streaming standby when one has replayed far enough, else to
 * the primary (docs/decisions/0018-replica-reads.md). Decided by log position, never by a guess
 * of time:
 *
 * - After a write, the actor's mark is the primary's WAL position (`pg_current_wal_lsn()`, read
 *   after the commit, so at or past it), kept where every process sees it (WriteMarks).
 * - Every poll (~100 ms) reads the primary's position and each replica's replay position
 *   (`pg_last_wal_replay_lsn()`). A replica serves an actor only when its replay position is at
 *   or past the actor's mark; it only moves forward, so a position read earlier is a safe bound.
 * - A replica that does not answer, or whose replay lags the primary by more than maxLagMs, is
 *   skipped for everyone. The lag is measured on positions too: the age of the newest primary
 *   position the replica has replayed. So a mark need live only maxLagMs (plus a poll): past
 *   that, any replica still in use has the write.
 */

/** Where each actor's last write position lives: Redis (every process) or this process. */
export interface WriteMarks {
  get(actor: string): Promise<bigint | undefined>;
  set(actor: string, lsn: bigint, ttlMs: number): Promise<void>;
}

/**
 * A repository for a read its caller marked replica-safe: over a replica that has the actor's
 * writes, else over the primary. Only an explicit opt-in routes a read, at the service call.
 */
export type ReplicaSafe<R> = (actor: { userId: string | null }) => Promise<R>;

/** Without replicas: always the one repository, over the primary. */
export function primaryOnly<R>(repository: R): ReplicaSafe<R> {
  return async () => repository;
}

export interface Replica {
  /** host:port/database, for readiness and logs (no password). */
  name: string;
  handle: DatabaseHandle;
}

export interface ReplicaState {
  name: string;
  /** ok, or why it is skipped. */
  state: string;
}

interface Sample {
  at: number;
  lsn: bigint;
}

/** `16/B374D848` → a number that orders like the position. */
export function parseLsn(text: string): bigint {
  const [high = '0', low = '0'] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

const POSITION_TIMEOUT_MS = 1_000;

async function position(db: Database, query: 'primary' | 'replica'): Promise<bigint | null> {
  const statement =
    query === 'primary'
      ? sql<{ lsn: string | null }>`select pg_current_wal_lsn()::text as lsn`
      : sql<{ lsn: string | null }>`select pg_last_wal_replay_lsn()::text as lsn`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer')), POSITION_TIMEOUT_MS);
  });
  try {
    const { rows } = await Promise.race([statement.execute(db), timeout]);
    const lsn = rows[0]?.lsn;
    return lsn ? parseLsn(lsn) : null;
  } finally {
    clearTimeout(timer);
  }
}

interface Observed {
  replay?: bigint;
  /** Set when the last poll could not use it. */
  problem?: string;
}

export class ReplicaReads {
  private samples: Sample[] = [];
  private observed = new Map<Replica, Observed>();
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly primary: Database,
    private readonly replicas: readonly Replica[],
    private readonly marks: WriteMarks,
    private readonly options: { maxLagMs: number; pollMs: number },
  ) {
    for (const replica of replicas) this.observed.set(replica, { problem: 'not polled yet' });
  }

  /** Polls until stop(); without replicas there is nothing to poll. */
  start(): void {
    if (this.replicas.length === 0 || this.timer) return;
    const tick = () => {
      this.polling = this.poll().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.options.pollMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stops polling and closes the replicas' pools (the primary is its owner's to close). */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    await Promise.all(this.replicas.map((replica) => replica.handle.close()));
  }

  /** One round of positions: the primary's, then each replica's. */
  async poll(): Promise<void> {
    const at = Date.now();
    try {
      const lsn = await position(this.primary, 'primary');
      if (lsn !== null) this.samples.push({ at, lsn });
    } catch {
      // No sample: the replicas' lag grows with the clock until the primary answers again.
    }
    const keep = at - this.options.maxLagMs - 2 * this.options.pollMs;
    // The newest sample older than the window stays: it bounds a replica just inside it.
    while (this.samples.length > 1 && this.samples[1]!.at < keep) this.samples.shift();
    await Promise.all(
      this.replicas.map(async (replica) => {
        try {
          const replay = await position(replica.handle.db, 'replica');
          this.observed.set(replica, replay === null ? { problem: 'not a standby' } : { replay });
        } catch (err) {
          this.observed.set(replica, { problem: `down (${(err as Error).message})` });
        }
      }),
    );
  }

  /** How far behind the primary a replay position is, in ms; undefined past the window. */
  private lagMs(replay: bigint, now: number): number | undefined {
    const newest = this.samples.at(-1);
    if (!newest) return undefined;
    if (replay >= newest.lsn) return now - newest.at;
    for (let i = this.samples.length - 1; i >= 0; i--) {
      if (this.samples[i]!.lsn <= replay) return now - this.samples[i]!.at;
    }
    return undefined;
  }

  /** The replicas fit to serve anyone now, with their replay positions. */
  private usable(now = Date.now()): { replica: Replica; replay: bigint }[] {
    const fit: { replica: Replica; replay: bigint }[] = [];
    for (const replica of this.replicas) {
      const seen = this.observed.get(replica);
      if (seen?.replay === undefined || seen.problem) continue;
      const lag = this.lagMs(seen.replay, now);
      if (lag !== undefined && lag <= this.options.maxLagMs) {
        fit.push({ replica, replay: seen.replay });
      }
    }
    return fit;
  }

  /**
   * The database for a read the caller marked replica-safe, on behalf of `actor` (a user id;
   * undefined for a guest, who has no writes to see): a replica that has replayed the actor's
   * last write, else the primary.
   */
  async reader(actor: string | undefined): Promise<Database> {
    const fit = this.usable();
    if (fit.length === 0) return this.primary;
    let mark: bigint | undefined;
    try {
      mark = actor === undefined ? undefined : await this.marks.get(actor);
    } catch {
      // Without the actor's mark nobody can tell what it wrote: the primary has everything.
      return this.primary;
    }
    const caughtUp = mark === undefined ? fit : fit.filter((r) => r.replay >= mark);
    if (caughtUp.length === 0) return this.primary;
    this.next = (this.next + 1) % caughtUp.length;
    return caughtUp[this.next]!.replica.handle.db;
  }

  /** `make` over the primary and over each replica, chosen per call by reader(). */
  replicaSafe<R>(make: (db: Database) => R): ReplicaSafe<R> {
    const primary = make(this.primary);
    if (this.replicas.length === 0) return primaryOnly(primary);
    const byDatabase = new Map<Database, R>([[this.primary, primary]]);
    for (const replica of this.replicas) byDatabase.set(replica.handle.db, make(replica.handle.db));
    return async (actor) => byDatabase.get(await this.reader(actor.userId ?? undefined)) ?? primary;
  }

  /** After a committed write by `actor`: its reads wait for a replica that has it. */
  async wrote(actor: string): Promise<void> {
    if (this.replicas.length === 0) return;
    const lsn = await position(this.primary, 'primary');
    if (lsn === null) return;
    await this.marks.set(actor, lsn, this.options.maxLagMs + 2 * this.options.pollMs);
  }

  /** Each replica and whether it serves reads now (readiness reports it). */
  states(): ReplicaState[] {
    const fit = new Set(this.usable().map((r) => r.replica));
    const now = Date.now();
    return this.replicas.map((replica) => {
      const seen = this.observed.get(replica);
      if (fit.has(replica)) return { name: replica.name, state: 'ok' };
      if (seen?.problem) return { name: replica.name, state: `skipped: ${seen.problem}` };
      const lag = seen?.replay === undefined ? undefined : this.lagMs(seen.replay, now);
      const behind = lag === undefined ? `over ${this.options.maxLagMs} ms` : `${lag} ms`;
      return { name: replica.name, state: `skipped: ${behind} behind the primary` };
    });
  }

  get configured(): boolean {
    return this.replicas.length > 0;
  }
}

/** The marks of this process only: enough for one process, or without Redis. */
export class MemoryWriteMarks implements WriteMarks {
  private marks = new Map<string, { lsn: bigint; until: number }>();

  async get(actor: string) {
    const mark = this.marks.get(actor);
    if (!mark) return undefined;
    if (mark.until > Date.now()) return mark.lsn;
    this.marks.delete(actor);
    return undefined;
  }

  async set(actor: string, lsn: bigint, ttlMs: number) {
    const current = this.marks.get(actor);
    const until = Date.now() + ttlMs;
    this.marks.set(actor, { lsn: current && current.lsn > lsn ? current.lsn : lsn, until });
    // Expired marks of actors who never read again: swept now and then, not per call.
    if (this.marks.size > 10_000) {
      const now = Date.now();
      for (const [key, value] of this.marks) if (value.until <= now) this.marks.delete(key);
    }
  }
}
