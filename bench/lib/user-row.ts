/** What both users baselines send to PostgreSQL and how they shape the answer, in one place. */

// Kysely's text for the repository's findById, byte for byte.
export const FIND_USER_BY_ID =
  'select "id", "name", "email", "role", "status", "email_verified_at", "created_at", "updated_at" from "users" where "id" = $1';

export interface UserRow {
  id: string;
  name: string;
  email: string;
  role: string;
  status: string;
  email_verified_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export function userData(row: UserRow) {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    role: row.role,
    status: row.status,
    emailVerified: row.email_verified_at !== null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
