import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { Tx } from '../../platform/db/transaction.js';

/** A user's public face. */
export interface Profile {
  id: string;
  name: string;
  createdAt: Date;
  profileViews: number;
}

/** Storage-neutral: plain domain objects in and out. */
export interface ProfilesRepository {
  findProfile(id: string): Promise<Profile | undefined>;
  /** The profiles of these users that exist, in one statement. */
  findProfiles(ids: readonly string[]): Promise<Profile[]>;
  /**
   * Adds a batch of view counts (user id → views) in the caller's transaction and records the
   * batch id with it. Returns false when the batch was already applied (a retry after a
   * crash), in which case nothing changes.
   */
  addViews(batchId: string, counts: Map<string, number>, tx: Tx): Promise<boolean>;
}

const profileColumns = ['id', 'name', 'created_at', 'profile_views'] as const;

interface ProfileRow {
  id: string;
  name: string;
  created_at: Date;
  profile_views: string | number | bigint;
}

function toProfile(row: ProfileRow): Profile {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    profileViews: Number(row.profile_views),
  };
}

export class PostgresProfilesRepository implements ProfilesRepository {
  constructor(private readonly db: Database) {}

  async findProfile(id: string) {
    const row = await this.db
      .selectFrom('users')
      .select(profileColumns)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toProfile(row);
  }

  async findProfiles(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('users')
      .select(profileColumns)
      .where('id', 'in', [...ids])
      .execute();
    return rows.map(toProfile);
  }

  async addViews(batchId: string, counts: Map<string, number>, tx: Tx) {
    const views = [...counts.values()].reduce((a, b) => a + b, 0);
    const recorded = await tx
      .insertInto('view_flushes')
      .values({ batch_id: batchId, counters: counts.size, views })
      .onConflict((oc) => oc.column('batch_id').doNothing())
      .returning('batch_id')
      .executeTakeFirst();
    if (!recorded) return false;
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
    await sql`
      update users set profile_views = users.profile_views + c.n, version = users.version + 1
      from unnest(${ids}::uuid[], ${increments}::bigint[]) as c(id, n)
      where users.id = c.id`.execute(tx);
    return true;
  }
}
