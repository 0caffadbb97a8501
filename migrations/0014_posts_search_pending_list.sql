-- New posts reach the GIN index through its pending list (fastupdate), merged into the index
-- when the list outgrows gin_pending_list_limit or at VACUUM. Every search reads the whole list
-- on top of the index: at the default 4 MB, about 500 pages and several milliseconds per search,
-- more than a search for rare words costs otherwise. A short list keeps that cost small; inserts
-- merge more often, each merge smaller (seeding 30,000 posts took about a tenth longer).
ALTER INDEX posts_search_idx SET (gin_pending_list_limit = 256);
SELECT gin_clean_pending_list('posts_search_idx'::regclass);
