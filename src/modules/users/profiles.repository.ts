import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { deleteBatch, olderThan } from '../../platform/db/delete-batch.js';
import type { Tx } from '../../platform/db/transaction.js';

/** A user's public face, with the row version the write-through cache orders writes by. */
export interface Profile {
  id: string;
  name: string;
  createdAt: Date;
  profileViews: number;
  version: number;
}

/** Storage-neutral: plain domain objects in and out. */
export interface ProfilesRepository {
  findProfile(id: string, tx?: Tx): Promise<Profile | undefined>;
  /**
   * Adds a batch of view counts (user id → views) in the caller's transaction and records the
   * batch id with it. Returns the changed profiles, or undefined when the batch was already
   * applied (a retry after a crash), in which case nothing changes.
   */
  addViews(batchId: string, counts: Map<string, number>, tx: Tx): Promise<Profile[] | undefined>;
  /** Forgets up to `limit` applied batch ids older than `retentionMs`; returns how many. */
  pruneAppliedBatches(retentionMs: number, limit: number): Promise<number>;
}

const profileColumns = ['id', 'name', 'created_at', 'profile_views', 'version'] as const;

interface ProfileRow {
  id: string;
  name: string;
  created_at: Date;
  profile_views: string | number | bigint;
  version: string | number | bigint;
}

function toProfile(row: ProfileRow): Profile {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    profileViews: Number(row.profile_views),
    version: Number(row.version),
  };
}

export class PostgresProfilesRepository implements ProfilesRepository {
  constructor(private readonly db: Database) {}

  async findProfile(id: string, tx: Tx | Database = this.db) {
    const row = await tx
      .selectFrom('users')
      .select(profileColumns)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toProfile(row);
  }

  async addViews(batchId: string, counts: Map<string, number>, tx: Tx) {
    const views = [...counts.values()].reduce((a, b) => a + b, 0);
    const recorded = await tx
      .insertInto('view_flushes')
      .values({ batch_id: batchId, counters: counts.size, views })
      .onConflict((oc) => oc.column('batch_id').doNothing())
      .returning('batch_id')
      .executeTakeFirst();
    if (!recorded) return undefined;
    const ids = [...counts.keys()].sort();
    // Rows locked in id order: two flushers touching the same users can't deadlock.
    await tx
      .selectFrom('users')
      .select('id')
      .where('id', 'in', ids)
      .orderBy('id')
      .forUpdate()
      .execute();
    const increments = ids.map((id) => counts.get(id)!);
    const { rows } = await sql<ProfileRow>`
      update users set profile_views = users.profile_views + c.n, version = users.version + 1
      from unnest(${ids}::uuid[], ${increments}::bigint[]) as c(id, n)
      where users.id = c.id
      returning users.id, users.name, users.created_at, users.profile_views, users.version`.execute(
      tx,
    );
    return rows.map(toProfile);
  }

  pruneAppliedBatches(retentionMs: number, limit: number) {
    const expired = olderThan(sql.ref('created_at'), retentionMs);
    return deleteBatch(this.db, 'view_flushes', 'batch_id', expired, limit);
  }
}
