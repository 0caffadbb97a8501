import type { Database } from '../../platform/db/database.js';

/** A user's public face. */
export interface Profile {
  id: string;
  name: string;
  createdAt: Date;
}

/**
 * Storage-neutral: plain domain objects in and out. PostgresProfilesRepository is its
 * PostgreSQL implementation.
 */
export interface ProfilesRepository {
  findProfile(id: string): Promise<Profile | undefined>;
  /** The profiles of these users that exist, in one statement. */
  findProfiles(ids: readonly string[]): Promise<Profile[]>;
}

const toProfile = (row: { id: string; name: string; created_at: Date }): Profile => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
});

export class PostgresProfilesRepository implements ProfilesRepository {
  constructor(private readonly db: Database) {}

  async findProfile(id: string) {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'name', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toProfile(row);
  }

  async findProfiles(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('users')
      .select(['id', 'name', 'created_at'])
      .where('id', 'in', [...ids])
      .execute();
    return rows.map(toProfile);
  }
}
