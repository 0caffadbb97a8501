-- New posts go straight into the GIN index, with no pending list (fastupdate off). A pending
-- list is read in full by every search on top of the index, up to 1.5 ms per search at the
-- 256 kB 0014 set (a search for two words that no post shares costs 4–5 ms in all); inserting
-- into the index directly is no slower here (10,000 seeded posts: 1.5 s vs 2.3 s with the list
-- and its merges; a single post: 0.6 ms either way).
ALTER INDEX posts_search_idx SET (fastupdate = off);
ALTER INDEX posts_search_idx RESET (gin_pending_list_limit);
SELECT gin_clean_pending_list('posts_search_idx'::regclass);
