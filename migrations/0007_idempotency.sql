-- Idempotency keys for POSTs that move money or create orders. A key is claimed in the same
-- transaction as the effect and stores the response with it, so a key exists exactly when its
-- effect committed, and a duplicate that arrives meanwhile waits on the key's row lock.
CREATE TABLE idempotency_keys (
  owner_id    text NOT NULL,
  key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  -- sha256 of the method, path and canonical body: the same key with another request is refused.
  fingerprint text NOT NULL,
  -- Set by the same transaction that claimed the key, so every committed row has them.
  status_code integer,
  headers     jsonb NOT NULL DEFAULT '{}',
  body        jsonb,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner_id, key)
);

-- The pruner deletes expired keys oldest first.
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
