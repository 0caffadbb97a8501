-- Holds: two-phase movements. A pending hold reserves an amount of its payer's money (counted
-- in accounts.held_minor, changed in the same statement as the hold); it is later captured (all
-- or part of it moves, as one journal row), voided, or it expires. What an account may spend is
-- balance_minor - held_minor, and the database refuses a change that would make it negative
-- for any account but the issuer, whatever the service believed.
ALTER TABLE accounts ADD COLUMN held_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD CONSTRAINT accounts_held_non_negative CHECK (held_minor >= 0);
ALTER TABLE accounts ADD CONSTRAINT accounts_available_non_negative
  CHECK (kind = 'issuer' OR balance_minor - held_minor >= 0);

CREATE TABLE holds (
  id               uuid PRIMARY KEY,
  from_account_id  uuid NOT NULL REFERENCES accounts (id),
  to_account_id    uuid NOT NULL REFERENCES accounts (id),
  amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'captured', 'voided', 'expired')),
  -- What the capture moved: set exactly when captured, never more than was held.
  captured_minor   bigint,
  -- The capture's journal row.
  transfer_id      uuid REFERENCES journal_entries (id),
  reference        text CHECK (length(reference) <= 200),
  -- Who placed it (a user id).
  created_by       uuid,
  expires_at       timestamptz NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (from_account_id <> to_account_id),
  CONSTRAINT holds_captured_amount CHECK (
    (status = 'captured') = (captured_minor IS NOT NULL AND transfer_id IS NOT NULL)
    AND (captured_minor IS NULL OR captured_minor BETWEEN 1 AND amount_minor)
  ),
  CHECK (expires_at > created_at)
);

-- The expiry sweep: pending holds, soonest expiry first.
CREATE INDEX holds_pending_expiry_idx ON holds (expires_at) WHERE status = 'pending';
-- An account's holds, newest first, as payer and as payee.
CREATE INDEX holds_from_idx ON holds (from_account_id, created_at DESC, id DESC);
CREATE INDEX holds_to_idx ON holds (to_account_id, created_at DESC, id DESC);
