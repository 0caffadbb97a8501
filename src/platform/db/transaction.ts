import type { Transaction } from 'kysely';
import type { Database } from './database.js';
import type { DB } from './schema.js';
import { isRetryableTransactionError } from './errors.js';

export type Tx = Transaction<DB>;

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  /** How many times a serialization failure or deadlock is retried before it is thrown. */
  retries?: number;
}

/**
 * Runs fn in one database transaction: committed when fn resolves, rolled back when it throws.
 * Every multi-statement write goes through here; the transaction is passed on explicitly.
 */
export async function withTransaction<T>(
  db: Database,
  fn: (tx: Tx) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  return withRetries(() => {
    const builder = db.transaction();
    return (options.isolation ? builder.setIsolationLevel(options.isolation) : builder).execute(fn);
  }, options.retries ?? 0);
}

/**
 * Runs fn again, up to `retries` times, when it fails with a serialization failure or a
 * deadlock: fn is a whole transaction, or a single statement that is one.
 */
export async function withRetries<T>(fn: () => Promise<T>, retries: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries || !isRetryableTransactionError(err)) throw err;
      // Back off a little, with jitter, so the transactions that collided don't collide again.
      await new Promise((resolve) => setTimeout(resolve, 5 * 2 ** attempt + Math.random() * 10));
    }
  }
}
