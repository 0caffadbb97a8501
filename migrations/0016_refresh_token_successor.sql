-- A spent refresh token's successor, sealed with AES-256-GCM under a key derived from the spent
-- token: the same client refreshing twice at once gets one successor instead of a revoked
-- session. Only the holder of the spent token can open it; it is cleared after the grace window.
ALTER TABLE refresh_tokens ADD COLUMN successor_ciphertext bytea;

-- The pruner looks for the few sealed successors past their window.
CREATE INDEX refresh_tokens_sealed_successor_idx ON refresh_tokens (used_at)
  WHERE successor_ciphertext IS NOT NULL;
