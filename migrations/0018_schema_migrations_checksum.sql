-- The sha256 of each migration's text (line endings as `\n`), recorded when it is applied: a
-- migration file edited after it was applied stops `npm run db:migrate` and start-up instead of
-- leaving databases that ran different texts under one version. Null in the rows applied
-- before this column; the runner fills them in from the files (src/platform/db/migrate.ts).
ALTER TABLE schema_migrations ADD COLUMN checksum text;
