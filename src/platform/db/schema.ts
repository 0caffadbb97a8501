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
  email_verified_at: Date | null;
  version: ColumnType<string | number | bigint, never, string | number | bigint>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ViewFlushesTable {
  batch_id: string;
  counters: number;
  /** bigint: the driver returns it as a string (or bigint); convert with Number(). */
  views: BigintColumn;
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
  /** The successor, AES-256-GCM under a key from the spent token (iv, ciphertext, tag). */
  successor_ciphertext: Uint8Array | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** How a session ended (sessions.end_reason; the CHECK in migration 0022 lists the same). */
export type SessionEndReason =
  | 'logout'
  | 'ended'
  | 'ended-by-admin'
  | 'logout-all'
  | 'reuse-detected'
  | 'password-changed'
  | 'access-changed'
  | 'account-suspended'
  | 'revoked';

export interface SessionsTable {
  /** The refresh-token family id, and the access token's `sid`. */
  id: string;
  user_id: string;
  last_used_at: Timestamp;
  expires_at: Date;
  ip: string | null;
  user_agent: string | null;
  ended_at: Date | null;
  end_reason: SessionEndReason | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SchemaMigrationsTable {
  version: string;
  name: string;
  applied_at: Generated<Date>;
  /** sha256 of the file when it was applied (migration 0018; null before it, then filled in). */
  checksum: string | null;
}

export interface OutboxTable {
  id: string;
  type: string;
  payload: ColumnType<unknown, string, string>;
  request_id: string | null;
  traceparent: string | null;
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

/** bigint columns: the driver returns them as strings (or bigint); convert with Number(). */
type BigintColumn = ColumnType<string | number | bigint, number | bigint, number | bigint | string>;
/** The same, with a database default, so an insert may leave it out. */
type BigintDefault = ColumnType<
  string | number | bigint,
  number | bigint | undefined,
  number | bigint | string
>;

export type AccountKind = 'wallet' | 'issuer' | 'merchant';
export type JournalKind = 'transfer' | 'deposit' | 'payment' | 'refund';

export interface AccountsTable {
  id: string;
  kind: AccountKind;
  user_id: string | null;
  currency: string;
  balance_minor: BigintDefault;
  /** What pending holds reserve of the balance (migration 0025). */
  held_minor: BigintDefault;
  /** Which of the merchant's rows (0 for every other account); see migration 0013. */
  shard: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface JournalEntriesTable {
  id: string;
  kind: JournalKind;
  from_account_id: string;
  to_account_id: string;
  amount_minor: BigintColumn;
  currency: string;
  from_balance_after: BigintColumn;
  to_balance_after: BigintColumn;
  reference: string | null;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type HoldStatus = 'pending' | 'captured' | 'voided' | 'expired';

/** A two-phase movement (migration 0025). */
export interface HoldsTable {
  id: string;
  from_account_id: string;
  to_account_id: string;
  amount_minor: BigintColumn;
  currency: string;
  status: ColumnType<HoldStatus, HoldStatus | undefined, HoldStatus>;
  captured_minor: BigintColumn | null;
  transfer_id: string | null;
  reference: string | null;
  created_by: string | null;
  expires_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface IdempotencyKeysTable {
  owner_id: string;
  key: string;
  fingerprint: string;
  status_code: number | null;
  headers: ColumnType<Record<string, string>, string | undefined, string>;
  body: ColumnType<unknown, string | null, string | null>;
  expires_at: Date | string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type OrderStatus = 'pending' | 'paid' | 'payment_failed' | 'cancelled';

export interface OrdersTable {
  id: string;
  user_id: string | null;
  status: OrderStatus;
  total_minor: BigintColumn;
  currency: string;
  payment_entry_id: ColumnType<string | null, string | null | undefined, string | null>;
  refund_entry_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OrderItemsTable {
  order_id: string;
  position: number;
  product_id: string;
  name: string;
  unit_price_minor: BigintColumn;
  quantity: number;
  line_total_minor: BigintColumn;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PostsTable {
  id: string;
  author_id: string;
  title: string;
  content: string;
  /** bigint: the driver returns it as a string (or bigint); convert with Number(). */
  view_count: BigintDefault;
  created_at: Timestamp;
  updated_at: Timestamp;
  /**
   * Generated from title and content; never written. Read only inside SQL. Null as far as the
   * database declares (a generated column has no NOT NULL), though title and content never are.
   */
  search: ColumnType<string | null, never, never>;
}

export interface UserIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OidcLoginsTable {
  state_hash: string;
  browser_hash: string;
  code_verifier: string;
  nonce: string;
  expires_at: Date;
  consumed_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One security-log event; see migrations/0020_security_events.sql and docs/accounts/security-log.md. */
export interface SecurityEventsTable {
  id: string;
  chain_id: string;
  /** bigint: the driver returns it as a string (or bigint); convert with Number(). */
  seq: BigintColumn;
  user_id: string | null;
  actor_id: string | null;
  type: string;
  outcome: 'success' | 'failure';
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, never>;
  prev_hash: string;
  hash: string;
  created_at: ColumnType<Date, Date, never>;
}

/** Each security-log chain's head and anchor (where its verification starts). */
export interface SecurityEventChainsTable {
  chain_id: string;
  seq: BigintColumn;
  /** The hash before the head's: the previous hash of the last event appended. */
  prev_hash: string;
  head_hash: string;
  anchor_seq: BigintColumn;
  anchor_hash: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A TOTP enrolment: pending until enabled_at is set (migration 0023). */
export interface TwoFactorTable {
  user_id: string;
  /** The base32 secret, AES-256-GCM (iv, ciphertext, tag) under a key from the signing key. */
  secret_ciphertext: Uint8Array;
  enabled_at: Date | null;
  /** The last time step a code was accepted for; bigint, so the driver returns a string. */
  last_step: ColumnType<string | number | bigint | null, number | null | undefined, number | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TwoFactorRecoveryCodesTable {
  id: string;
  user_id: string;
  /** SHA-256 (hex) of the code in its canonical form. */
  code_hash: string;
  used_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TwoFactorChallengesTable {
  id: string;
  user_id: string;
  /** SHA-256 (hex) of the step token. */
  token_hash: string;
  expires_at: Date;
  used_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type AccountTokenPurpose = 'verify-email' | 'reset-password' | 'change-email';

export interface AccountTokensTable {
  id: string;
  user_id: string;
  purpose: AccountTokenPurpose;
  token_hash: string;
  email: string;
  expires_at: Date;
  consumed_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DB {
  account_tokens: AccountTokensTable;
  two_factor: TwoFactorTable;
  two_factor_recovery_codes: TwoFactorRecoveryCodesTable;
  two_factor_challenges: TwoFactorChallengesTable;
  posts: PostsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  accounts: AccountsTable;
  journal_entries: JournalEntriesTable;
  holds: HoldsTable;
  idempotency_keys: IdempotencyKeysTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  sessions: SessionsTable;
  view_flushes: ViewFlushesTable;
  outbox: OutboxTable;
  deliveries: DeliveriesTable;
  products: ProductsTable;
  schema_migrations: SchemaMigrationsTable;
  user_identities: UserIdentitiesTable;
  oidc_logins: OidcLoginsTable;
  security_events: SecurityEventsTable;
  security_event_chains: SecurityEventChainsTable;
}
