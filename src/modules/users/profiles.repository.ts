import type { Database } from '../../platform/db/database.js';

/** A user's public face. */
export interface Profile {
  id: string;
  name: string;
  createdAt: Date;
}

/** Storage-neutral: plain domain objects in and out. */
export interface ProfilesRepository {
  findProfile(id: string): Promise<Profile | undefined>;
}

export class PostgresProfilesRepository implements ProfilesRepository {
  constructor(private readonly db: Database) {}

  async findProfile(id: string) {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'name', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { id: row.id, name: row.name, createdAt: row.created_at };
  }
}
