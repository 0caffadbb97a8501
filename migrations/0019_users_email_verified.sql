-- When the account proved it holds its email address (the verification link); NULL until then.
-- Accounts that predate verification start unverified, like every new registration.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
