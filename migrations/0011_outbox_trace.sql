-- The W3C traceparent of the span that scheduled the job (null when tracing is off), so the
-- job's span links back to the request that caused it.
ALTER TABLE outbox ADD COLUMN traceparent text;
