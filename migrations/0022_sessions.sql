-- One row per login session (a family of rotating refresh tokens; its id is the family id and
-- the access token's `sid`). What a user lists and ends, and what the pruner deletes.
CREATE TABLE sessions (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- The last refresh; the sign-in until the first one.
  last_used_at  timestamptz NOT NULL DEFAULT now(),
  -- When its live refresh token expires: past it, the session can't be continued.
  expires_at    timestamptz NOT NULL,
  -- Where it signed in from, as the API saw it (TRUST_PROXY decides the address).
  ip            text,
  user_agent    text,
  ended_at      timestamptz,
  end_reason    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sessions_end_reason_check CHECK (end_reason IN (
    'logout', 'ended', 'ended-by-admin', 'logout-all', 'reuse-detected',
    'password-changed', 'access-changed', 'account-suspended', 'revoked')),
  CONSTRAINT sessions_ended_with_reason CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);

-- The families that exist already: a session each. Ended when no token of it is left unrevoked
-- (why is not known: 'revoked').
INSERT INTO sessions (id, user_id, last_used_at, expires_at, ended_at, end_reason,
                      created_at, updated_at)
SELECT family_id,
       min(user_id::text)::uuid,
       max(created_at),
       max(expires_at),
       CASE WHEN bool_and(revoked_at IS NOT NULL) THEN max(revoked_at) END,
       CASE WHEN bool_and(revoked_at IS NOT NULL) THEN 'revoked' END,
       min(created_at),
       max(updated_at)
  FROM refresh_tokens
 GROUP BY family_id;

-- A token belongs to its session and goes with it (the pruner deletes sessions only).
ALTER TABLE refresh_tokens
  ADD CONSTRAINT refresh_tokens_family_fk FOREIGN KEY (family_id)
  REFERENCES sessions (id) ON DELETE CASCADE;

-- A user's live sessions, newest use first; ending all of them.
CREATE INDEX sessions_user_live_idx ON sessions (user_id, last_used_at DESC, id DESC)
  WHERE ended_at IS NULL;
-- The pruner: ended sessions by when they ended, the others by when they expired.
CREATE INDEX sessions_ended_idx ON sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at) WHERE ended_at IS NULL;
-- The pruner: spent refresh tokens of sessions that go on, once past their own expiry.
CREATE INDEX refresh_tokens_spent_idx ON refresh_tokens (expires_at) WHERE used_at IS NOT NULL;
