import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import { rowsPart, type Column, type Guard, type StatementPart } from '../db/single-statement.js';

const KEY_COLUMNS: Column[] = [
  ['owner_id', 'text'],
  ['key', 'text'],
  ['fingerprint', 'text'],
  ['status_code', 'int'],
  ['headers', 'jsonb'],
  ['body', 'jsonb'],
  ['expires_at', 'timestamptz'],
];

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

/** A key as an effect's own statement stores it. */
export interface KeyRecord {
  id: KeyId;
  fingerprint: string;
  expiresAt: Date;
}

/** The primary key a second insert of one (owner, key) violates. */
const KEY_CONSTRAINT = 'idempotency_keys_pkey';

export function isKeyTaken(err: unknown): boolean {
  return isUniqueViolation(err) && err.constraint === KEY_CONSTRAINT;
}

export class IdempotencyKeysRepository {
  constructor(private readonly db: Database) {}

  /**
   * The key's INSERT with its response, a part of the effect's single statement
   * (platform/db/single-statement.ts) that runs when `when` holds. A key that exists makes the whole statement fail with a unique violation
   * (`isKeyTaken`), so the effect is undone with it; a duplicate still running makes the insert
   * wait for it first.
   */
  insertPart(record: KeyRecord, response: StoredResponse, when: Guard): StatementPart {
    const values = {
      owner_id: record.id.ownerId,
      key: record.id.key,
      fingerprint: record.fingerprint,
      status_code: response.statusCode,
      headers: response.headers,
      body: response.body,
      expires_at: record.expiresAt,
    };
    return rowsPart('idempotency_keys', KEY_COLUMNS, [values], when);
  }

  /** Deletes the key if it has expired. */
  async removeExpired(id: KeyId): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('owner_id', '=', id.ownerId)
      .where('key', '=', id.key)
      .where('expires_at', '<=', sql<Date>`now()`)
      .execute();
  }

  /** The key's stored response, unless it has expired. */
  async findLive(id: KeyId) {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select(['fingerprint', 'status_code', 'headers', 'body'])
      .where('owner_id', '=', id.ownerId)
      .where('key', '=', id.key)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    if (!row || row.status_code === null) return undefined;
    const response: StoredResponse = {
      statusCode: row.status_code,
      headers: row.headers,
      body: row.body,
    };
    return { fingerprint: row.fingerprint, response };
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
