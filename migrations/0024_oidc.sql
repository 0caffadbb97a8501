-- Who an OpenID provider says a user is: the provider's issuer and its subject for them. One
-- provider account signs in to one local account; a local account may have several.
CREATE TABLE user_identities (
  issuer      text NOT NULL,
  subject     text NOT NULL,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, subject)
);

CREATE INDEX user_identities_user_idx ON user_identities (user_id);

-- A sign-in on its way through the provider: what the callback must check and send back. Keyed
-- by the hash of the state; browser_hash binds it to the browser that started it (a cookie).
-- consumed_at makes it single-use; rows are pruned after expires_at.
CREATE TABLE oidc_logins (
  state_hash     text PRIMARY KEY,
  browser_hash   text NOT NULL,
  code_verifier  text NOT NULL,
  nonce          text NOT NULL,
  expires_at     timestamptz NOT NULL,
  consumed_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX oidc_logins_expires_idx ON oidc_logins (expires_at);
