-- The ledger. Balances are integer minor units (cents); a journal row records each movement
-- once, from one account to another, so per currency the balances always sum to zero: money
-- enters through the issuer (which may go negative) and is only ever moved after that.
CREATE TABLE accounts (
  id            uuid PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('wallet', 'issuer', 'merchant')),
  -- A wallet's owner. Deleting the user keeps the row (its journal rows need it, and its
  -- balance keeps the sum at zero); it only loses its owner.
  user_id       uuid REFERENCES users (id) ON DELETE SET NULL,
  currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  balance_minor bigint NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- The last line of defence: only the issuer may go below zero.
  CONSTRAINT accounts_balance_non_negative CHECK (kind = 'issuer' OR balance_minor >= 0),
  CONSTRAINT accounts_system_has_no_owner CHECK (kind = 'wallet' OR user_id IS NULL)
);

-- One wallet per user and currency; it also serves "the accounts of user X".
CREATE UNIQUE INDEX accounts_wallet_key ON accounts (user_id, currency) WHERE kind = 'wallet';
-- One issuer and one merchant per currency.
CREATE UNIQUE INDEX accounts_system_key ON accounts (kind, currency) WHERE kind <> 'wallet';

CREATE TABLE journal_entries (
  id               uuid PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('transfer', 'deposit', 'payment', 'refund')),
  from_account_id  uuid NOT NULL REFERENCES accounts (id),
  to_account_id    uuid NOT NULL REFERENCES accounts (id),
  amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- Both balances right after this entry: a statement reads them without summing history.
  from_balance_after bigint NOT NULL,
  to_balance_after   bigint NOT NULL,
  reference        text CHECK (length(reference) <= 200),
  -- Who asked for it (a user id), or null for the system (an order's payment, say).
  created_by       uuid,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (from_account_id <> to_account_id)
);

-- An account's history, newest first, is the union of these two index scans.
CREATE INDEX journal_entries_from_idx ON journal_entries (from_account_id, created_at DESC, id DESC);
CREATE INDEX journal_entries_to_idx ON journal_entries (to_account_id, created_at DESC, id DESC);
