import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import { deleteBatch, olderThan } from '../db/delete-batch.js';
import { rowsPart, type Column, type Guard, type StatementPart } from '../db/single-statement.js';

const OUTBOX_COLUMNS: Column[] = [
  ['id', 'uuid'],
  ['type', 'text'],
  ['payload', 'jsonb'],
  ['request_id', 'text'],
  ['traceparent', 'text'],
];
import type { Tx } from '../db/transaction.js';

export interface OutboxRow {
  id: string;
  type: string;
  payload: unknown;
  requestId: string | null;
  /** The scheduling span (W3C traceparent), for the job span's link. */
  traceparent: string | null;
  /** Claims so far, this one included. */
  attempts: number;
}

export interface NewOutboxRow {
  id: string;
  type: string;
  payload: unknown;
  requestId?: string;
  traceparent?: string;
}

/** Where a row stands: waiting (or being run), done, or given up on (the dead letter). */
export const OUTBOX_STATES = ['pending', 'sent', 'dead'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/** A row as an operator reads it: no payload (it may hold personal data such as emails). */
export interface OutboxEntry {
  id: string;
  type: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** Pending: when it may next be claimed (after a backoff or a lease). */
  availableAt: Date;
  /** When it was sent or declared dead. */
  finishedAt: Date | null;
}

export interface OutboxOverview {
  counts: Record<OutboxState, number>;
  /** The most recent rows of each state, newest first. */
  latest: Record<OutboxState, OutboxEntry[]>;
}

/** The outbox table: written inside business transactions, drained by a relay or runner. */
export class OutboxRepository {
  constructor(private readonly db: Database) {}

  async add(tx: Tx, row: NewOutboxRow): Promise<void> {
    await tx
      .insertInto('outbox')
      .values({
        id: row.id,
        type: row.type,
        payload: JSON.stringify(row.payload),
        request_id: row.requestId ?? null,
        traceparent: row.traceparent ?? null,
      })
      .execute();
  }

  /** The row's INSERT as a part of a caller's single statement, run when `when` holds. */
  insertPart(row: NewOutboxRow, when: Guard): StatementPart {
    const values = {
      id: row.id,
      type: row.type,
      payload: row.payload,
      request_id: row.requestId ?? null,
      traceparent: row.traceparent ?? null,
    };
    return rowsPart('outbox', OUTBOX_COLUMNS, [values], when);
  }

  /**
   * Takes up to `limit` pending rows and leases them for `leaseMs`: until then no other relay
   * claims them, after it they are claimable again (the holder crashed). SKIP LOCKED lets
   * several relays claim side by side without waiting on each other's rows.
   */
  async claim(limit: number, leaseMs: number): Promise<OutboxRow[]> {
    const { rows } = await sql<{
      id: string;
      type: string;
      payload: unknown;
      request_id: string | null;
      traceparent: string | null;
      attempts: number;
    }>`
      update outbox
         set attempts = attempts + 1,
             available_at = now() + ${leaseMs} * interval '1 millisecond',
             updated_at = now()
       where id in (
         select id from outbox
          where sent_at is null and failed_at is null and available_at <= now()
          order by available_at
          limit ${limit}
          for update skip locked)
      returning id, type, payload, request_id, traceparent, attempts`.execute(this.db);
    return rows
      .map((r) => ({
        id: r.id,
        type: r.type,
        payload: r.payload,
        requestId: r.request_id,
        traceparent: r.traceparent,
        attempts: r.attempts,
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async markSent(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('outbox')
      .set({ sent_at: new Date(), last_error: null, updated_at: new Date() })
      .where('id', 'in', ids)
      .execute();
  }

  /** Claimable again after `delayMs`, with the reason it failed. */
  async release(ids: string[], delayMs: number, error: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('outbox')
      .set({
        available_at: sql<Date>`now() + ${delayMs} * interval '1 millisecond'`,
        last_error: error.slice(0, 2000),
        updated_at: new Date(),
      })
      .where('id', 'in', ids)
      .execute();
  }

  /** Dead letter: no more attempts. */
  async markFailed(id: string, error: string): Promise<void> {
    await this.db
      .updateTable('outbox')
      .set({ failed_at: new Date(), last_error: error.slice(0, 2000), updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  }

  /** Rows waiting to be sent (the backlog), counted from the partial index of pending rows. */
  async countPending(): Promise<number> {
    const row = await this.db
      .selectFrom('outbox')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('sent_at', 'is', null)
      .where('failed_at', 'is', null)
      .executeTakeFirstOrThrow();
    return row.n;
  }

  /**
   * Counts by state and the `limit` latest rows of each, for the embedded job dashboard.
   * Read-only. Sent and dead rows are read through the index of finished rows, pending ones
   * through the partial index of pending rows; the counts scan what the pruner retains.
   */
  async overview(limit: number): Promise<OutboxOverview> {
    const counts = this.db
      .selectFrom('outbox')
      .select([
        sql<number>`count(*) filter (where sent_at is null and failed_at is null)::int`.as(
          'pending',
        ),
        sql<number>`count(*) filter (where sent_at is not null)::int`.as('sent'),
        sql<number>`count(*) filter (where failed_at is not null and sent_at is null)::int`.as(
          'dead',
        ),
      ])
      .executeTakeFirstOrThrow();
    const rows = this.db
      .selectFrom('outbox')
      .select([
        'id',
        'type',
        'attempts',
        'last_error',
        'created_at',
        'updated_at',
        'available_at',
        sql<Date | null>`coalesce(sent_at, failed_at)`.as('finished_at'),
      ])
      .limit(limit);
    const [count, pending, sent, dead] = await Promise.all([
      counts,
      rows
        .where('sent_at', 'is', null)
        .where('failed_at', 'is', null)
        .orderBy('created_at', 'desc')
        .execute(),
      rows.where('sent_at', 'is not', null).orderBy('sent_at', 'desc').execute(),
      rows
        .where('failed_at', 'is not', null)
        .where('sent_at', 'is', null)
        .orderBy('failed_at', 'desc')
        .execute(),
    ]);
    const entries = (list: typeof pending): OutboxEntry[] =>
      list.map((r) => ({
        id: r.id,
        type: r.type,
        attempts: r.attempts,
        lastError: r.last_error,
        createdAt: new Date(r.created_at),
        updatedAt: new Date(r.updated_at),
        availableAt: new Date(r.available_at),
        finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
      }));
    return {
      counts: count,
      latest: { pending: entries(pending), sent: entries(sent), dead: entries(dead) },
    };
  }

  /** Deletes up to `limit` rows sent or dead for longer than `retentionMs`; never pending ones. */
  async pruneFinished(retentionMs: number, limit: number): Promise<number> {
    const finished = sql<boolean>`(sent_at is not null or failed_at is not null)
      and ${olderThan(sql`coalesce(sent_at, failed_at)`, retentionMs)}`;
    return deleteBatch(this.db, 'outbox', 'id', finished, limit);
  }
}
