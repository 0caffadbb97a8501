-- NULL means the account can't log in with a password (e.g. created by an admin without one).
ALTER TABLE users ADD COLUMN password_hash text;

CREATE TABLE refresh_tokens (
  id          uuid PRIMARY KEY,
  -- Every token descended from one login shares a family; reuse of a spent token revokes it.
  family_id   uuid NOT NULL,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
-- "Revoke every session of this user" touches only the live ones.
CREATE INDEX refresh_tokens_user_live_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
