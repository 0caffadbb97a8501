-- One-time tokens mailed to a user: verify an email address, reset a password, confirm an email
-- change. Only the SHA-256 of a token is kept; the token itself exists only in the email.
CREATE TABLE account_tokens (
  id           uuid PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose      text NOT NULL
               CHECK (purpose IN ('verify-email', 'reset-password', 'change-email')),
  token_hash   text NOT NULL UNIQUE,
  -- The address the token is about: the one to verify, or the new one of an email change.
  email        text NOT NULL,
  expires_at   timestamptz NOT NULL,
  consumed_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- "Every other outstanding token of this account and purpose" touches only the live ones.
CREATE INDEX account_tokens_user_live_idx ON account_tokens (user_id, purpose)
  WHERE consumed_at IS NULL;
-- The pruner deletes by expiry.
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);
