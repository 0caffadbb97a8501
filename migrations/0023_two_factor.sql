-- Two-factor sign-in with TOTP (RFC 6238). One row per account that started enrolling: the
-- secret, sealed with AES-256-GCM under a key derived from the service's signing key (the
-- account id authenticated with it, so a sealed secret copied to another row does not open);
-- enabled_at NULL while the enrolment waits for its first code.
CREATE TABLE two_factor (
  user_id            uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_ciphertext  bytea NOT NULL,
  enabled_at         timestamptz,
  -- The last time step a code was accepted for: a code is accepted once, and never one of an
  -- earlier step (UPDATE ... WHERE last_step < $step decides between concurrent uses).
  last_step          bigint,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Ten single-use recovery codes per enabled account, stored as SHA-256: each is 80 random bits,
-- too many to try against a fast hash, so a slow password hash would buy nothing here.
CREATE TABLE two_factor_recovery_codes (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash   text NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, code_hash)
);

-- The step between a right password and a right code: a random token, stored by hash, that
-- lives a few minutes and is spent by the sign-in it completes.
CREATE TABLE two_factor_challenges (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The pruner deletes challenges past their lifetime.
CREATE INDEX two_factor_challenges_expires_idx ON two_factor_challenges (expires_at);
CREATE INDEX two_factor_challenges_user_idx ON two_factor_challenges (user_id);
