-- Jobs are written here in the same transaction as the change that causes them, so a job
-- exists exactly when its change committed. A relay moves unsent rows to the queue.
CREATE TABLE outbox (
  id           uuid PRIMARY KEY,
  type         text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
  payload      jsonb NOT NULL,
  -- The request that caused the job, so its logs can be followed into the worker.
  request_id   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- Not claimable before this: a lease while a relay or runner holds the row, or a backoff.
  available_at timestamptz NOT NULL DEFAULT now(),
  sent_at      timestamptz,
  -- Dead letter of the in-process runner: it gave up after the last attempt.
  failed_at    timestamptz,
  attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error   text,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The relay's claim reads only pending rows, in the order they become available.
CREATE INDEX outbox_pending_idx ON outbox (available_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- One row per email handed to the transport, keyed by the job (outbox row) that sent it:
-- a retried or duplicated job finds its row and does not send again.
CREATE TABLE deliveries (
  id         uuid PRIMARY KEY,
  message_id text NOT NULL,
  recipient  text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
