import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import type { Tx } from '../db/transaction.js';

/** A response as it was sent, to be sent again for a repeat of its request. */
export interface StoredResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface KeyId {
  ownerId: string;
  key: string;
}

export class IdempotencyKeysRepository {
  constructor(private readonly db: Database) {}

  /**
   * Inserts the key, or takes over an expired one. False when a live key exists. While another
   * open transaction holds the same key, this waits for it (up to the lock timeout): the
   * duplicate then sees the committed key, or claims it if the first rolled back.
   */
  async claim(tx: Tx, id: KeyId, fingerprint: string, expiresAt: Date): Promise<boolean> {
    const row = await tx
      .insertInto('idempotency_keys')
      .values({ owner_id: id.ownerId, key: id.key, fingerprint, expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .columns(['owner_id', 'key'])
          .doUpdateSet({
            fingerprint,
            status_code: null,
            headers: '{}',
            body: null,
            expires_at: expiresAt,
            created_at: sql`now()`,
            updated_at: sql`now()`,
          })
          .where('idempotency_keys.expires_at', '<=', sql<Date>`now()`),
      )
      .returning('owner_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async find(tx: Tx, id: KeyId) {
    const row = await tx
      .selectFrom('idempotency_keys')
      .select(['fingerprint', 'status_code', 'headers', 'body'])
      .where('owner_id', '=', id.ownerId)
      .where('key', '=', id.key)
      .executeTakeFirst();
    if (!row || row.status_code === null) return undefined;
    const response: StoredResponse = {
      statusCode: row.status_code,
      headers: row.headers,
      body: row.body,
    };
    return { fingerprint: row.fingerprint, response };
  }

  async complete(tx: Tx, id: KeyId, response: StoredResponse): Promise<void> {
    await tx
      .updateTable('idempotency_keys')
      .set({
        status_code: response.statusCode,
        headers: JSON.stringify(response.headers),
        body: JSON.stringify(response.body),
        updated_at: sql`now()`,
      })
      .where('owner_id', '=', id.ownerId)
      .where('key', '=', id.key)
      .execute();
  }

  /** Deletes up to `limit` expired keys; returns how many went. */
  async deleteExpired(limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('idempotency_keys')
      .where((eb) =>
        eb(
          sql`(owner_id, key)`,
          'in',
          eb
            .selectFrom('idempotency_keys')
            .select(['owner_id', 'key'])
            .where('expires_at', '<=', sql<Date>`now()`)
            .orderBy('expires_at')
            .limit(limit),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
