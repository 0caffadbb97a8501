-- The security log: sign-ins, failures, token reuse, password, email, role and status changes.
-- One hash chain per account (chain_id = the account's id) and one for events no account
-- matched (the nil UUID). Each row's hash covers the previous row's hash and the row's fields
-- (encoded by the application, see src/platform/audit/chain.ts), so a changed, deleted or
-- inserted row breaks its chain where it happened. No foreign key to users: the record of an
-- account outlives the account. No updated_at: rows are never updated.
CREATE TABLE security_events (
  id          uuid PRIMARY KEY,
  chain_id    uuid NOT NULL,
  seq         bigint NOT NULL CHECK (seq > 0),
  user_id     uuid,
  -- An account id, or the name of who acted without one ('operator' for the command line).
  actor_id    text,
  type        text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
  ip          text,
  user_agent  text,
  request_id  text,
  details     jsonb NOT NULL DEFAULT '{}',
  prev_hash   text NOT NULL,
  hash        text NOT NULL,
  created_at  timestamptz NOT NULL,
  UNIQUE (chain_id, seq)
);

-- One account's events newest first (GET /users/{id}/security-events), and everyone's (admins).
CREATE INDEX security_events_user_created_idx ON security_events (user_id, created_at DESC, id DESC);
CREATE INDEX security_events_created_idx ON security_events (created_at DESC, id DESC);

-- Each chain's head (the last sequence number and hash appended, and the hash before it) and
-- anchor (where verification starts: sequence 0 and the zero hash, or where pruning cut the
-- chain). Appending locks the head row, so the events of one chain are numbered one after
-- another, never forked.
CREATE TABLE security_event_chains (
  chain_id    uuid PRIMARY KEY,
  seq         bigint NOT NULL CHECK (seq >= 0),
  prev_hash   text NOT NULL,
  head_hash   text NOT NULL,
  anchor_seq  bigint NOT NULL CHECK (anchor_seq >= 0 AND anchor_seq <= seq),
  anchor_hash text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Append-only in the database too: an UPDATE is refused, and so is a DELETE unless the pruning
-- transaction set stratum.security_log_pruning (SET LOCAL, so it ends with that transaction).
CREATE FUNCTION security_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('stratum.security_log_pruning', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'security_events is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER security_events_append_only
  BEFORE UPDATE OR DELETE ON security_events
  FOR EACH ROW EXECUTE FUNCTION security_events_append_only();

CREATE TRIGGER security_events_no_truncate
  BEFORE TRUNCATE ON security_events
  FOR EACH STATEMENT EXECUTE FUNCTION security_events_append_only();

-- A chain's head only moves forward, its anchor too, and a chain is never removed.
CREATE FUNCTION security_event_chains_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq OR NEW.anchor_seq < OLD.anchor_seq
     OR NEW.chain_id <> OLD.chain_id THEN
    RAISE EXCEPTION 'security_event_chains only move forward (% refused)', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER security_event_chains_forward_only
  BEFORE UPDATE OR DELETE ON security_event_chains
  FOR EACH ROW EXECUTE FUNCTION security_event_chains_forward_only();
