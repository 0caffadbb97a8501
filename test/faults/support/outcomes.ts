import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Database } from '../../../src/platform/db/database.js';
import { queueKeyPrefix } from '../../../src/platform/jobs/bullmq.js';
import type { RedisClient } from '../../../src/platform/redis/connect.js';
import { outboxSettled, queueIdle } from '../../support/jobs.js';
import { eventually } from '../../support/time.js';
import type { Outcome } from './http-client.js';

/** The outcomes of requests started within [from, to). */
export function startedBetween(outcomes: Outcome[], from: number, to: number): Outcome[] {
  return outcomes.filter((o) => o.startedAt >= from && o.startedAt < to);
}

export const serverErrors = (outcomes: Outcome[]) => outcomes.filter((o) => o.status >= 500);

export const noResponse = (outcomes: Outcome[]) => outcomes.filter((o) => o.status === 0);

export const slowest = (outcomes: Outcome[]) => Math.max(0, ...outcomes.map((o) => o.ms));

/** "GET /api/v1/users/:id 200 ×12, ..." for failure messages and the report. */
export function summarize(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const route = o.path.replace(/[0-9a-f-]{36}/g, ':id');
    const key = `${o.method} ${route} ${o.status || o.error}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${key} ×${n}`).join(', ');
}

/** Polls until check passes; resolves with the milliseconds it took. */
export async function timeUntil(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<number> {
  const started = Date.now();
  await eventually(check, { what, timeoutMs, intervalMs: 50 });
  return Date.now() - started;
}

/**
 * Waits until the stack is quiescent for these emails: every outbox row naming one relayed or
 * dead, and no email job waiting, delayed or running. Counts taken after it are final.
 */
export async function emailJobsSettled(
  db: Database,
  redis: string | RedisClient,
  emails: string[],
  timeoutMs = 15_000,
) {
  for (const email of emails) await outboxSettled(db, email, timeoutMs);
  const connection =
    typeof redis === 'string' ? new Redis(redis, { maxRetriesPerRequest: null }) : redis;
  const queue = new Queue('email', { connection, prefix: queueKeyPrefix('stratum', 'email') });
  try {
    await queueIdle(queue, timeoutMs);
  } finally {
    await queue.close();
    if (typeof redis === 'string') connection.disconnect();
  }
}
