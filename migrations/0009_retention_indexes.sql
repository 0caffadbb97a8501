-- The pruner deletes finished rows past their retention in small batches. Without these, every
-- batch would scan the whole retained table to find its few expired rows.
CREATE INDEX outbox_finished_idx ON outbox ((coalesce(sent_at, failed_at)))
  WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL;
CREATE INDEX deliveries_created_idx ON deliveries (created_at);
CREATE INDEX view_flushes_created_idx ON view_flushes (created_at);
