import type { ColumnType, Generated } from 'kysely';

/** Row types of the tables, as migrations/ creates them. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type UserRole = 'admin' | 'user' | 'guest';
export type UserStatus = 'active' | 'suspended';

export interface UsersTable {
  id: string;
  name: string;
  email: string;
  role: UserRole;
  status: UserStatus;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SchemaMigrationsTable {
  version: string;
  name: string;
  applied_at: Generated<Date>;
}

export interface DB {
  users: UsersTable;
  schema_migrations: SchemaMigrationsTable;
}
