-- Posts: written by users, public, searchable. Deleting a user deletes their posts.
CREATE TABLE posts (
  id         uuid PRIMARY KEY,
  author_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  content    text NOT NULL CHECK (length(content) BETWEEN 1 AND 20000),
  -- Reads counted in the cache and added here in batches (write-behind): trails by a flush.
  view_count bigint NOT NULL DEFAULT 0 CHECK (view_count >= 0),
  -- Milliseconds, as a JavaScript Date holds them: a cursor (created_at, id) read back into a
  -- Date must compare equal to the row it came from, or keyset pages would skip or repeat rows.
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  -- Stored, so a search reads the lexemes instead of parsing every matching row's text; the
  -- weights let ts_rank_cd rank a title match above a content-only one. The configuration is
  -- named: a generated column must not depend on default_text_search_config.
  search     tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') ||
    setweight(to_tsvector('english', content), 'B')
  ) STORED
);

CREATE INDEX posts_search_idx ON posts USING gin (search);
-- A user's posts, newest first; the id breaks ties as the queries do.
CREATE INDEX posts_author_created_idx ON posts (author_id, created_at DESC, id DESC);
-- The public list, newest first, and its keyset (cursor) pages.
CREATE INDEX posts_created_idx ON posts (created_at DESC, id DESC);

-- Profile views stopped counting when the write-behind counter moved onto posts: a column that
-- never changes again would only mislead. view_flushes stays, now recording post batches.
ALTER TABLE users DROP COLUMN profile_views;
