-- Public profile views, counted in the cache and added here in batches (write-behind).
ALTER TABLE users ADD COLUMN profile_views bigint NOT NULL DEFAULT 0 CHECK (profile_views >= 0);

-- Incremented by every write of the row: the write-through cache keeps the highest version, so
-- cache writes that arrive out of order can't replace a newer row with an older one.
ALTER TABLE users ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- One row per applied batch of view counts, written in the batch's own transaction: a batch
-- retried after a crash finds its id here and is skipped, so no increment counts twice.
CREATE TABLE view_flushes (
  batch_id   uuid PRIMARY KEY,
  counters   integer NOT NULL,
  views      bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
