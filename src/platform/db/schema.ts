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
  password_hash: string | null;
  /** bigint: the driver returns it as a string (or bigint); convert with Number(). */
  profile_views: ColumnType<string | number | bigint, never, string | number | bigint>;
  version: ColumnType<string | number | bigint, never, string | number | bigint>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ViewFlushesTable {
  batch_id: string;
  counters: number;
  views: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  user_id: string;
  token_hash: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SchemaMigrationsTable {
  version: string;
  name: string;
  applied_at: Generated<Date>;
}

export interface OutboxTable {
  id: string;
  type: string;
  payload: ColumnType<unknown, string, string>;
  request_id: string | null;
  created_at: Timestamp;
  available_at: Timestamp;
  sent_at: Date | null;
  failed_at: Date | null;
  attempts: Generated<number>;
  last_error: string | null;
  updated_at: Timestamp;
}

export interface ProductsTable {
  id: string;
  name: string;
  description: ColumnType<string, string | undefined, string>;
  /** bigint: the driver returns it as a string (or bigint); convert with Number(). */
  price_minor: ColumnType<string | number | bigint, number, number>;
  currency: string;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  version: ColumnType<string | number | bigint, never, string | number | bigint>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DeliveriesTable {
  id: string;
  message_id: string;
  recipient: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DB {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  view_flushes: ViewFlushesTable;
  outbox: OutboxTable;
  deliveries: DeliveriesTable;
  products: ProductsTable;
  schema_migrations: SchemaMigrationsTable;
}
