-- Import speed (issue 3): the lead quick-search index keeps up to 16 MB of new tokens in memory
-- before it writes them out as a segment (SQLite's default is 1 MB: an import batch of 15,000
-- leads wrote about seven small segments, each merged again and again), and merges a level's
-- segments when it holds 8 of them instead of 4. 1M-row CSV import: 20.4-21.6 s against
-- 22.8-23.3 s.
INSERT INTO lead_search (lead_search, rank) VALUES ('hashsize', 16777216);
INSERT INTO lead_search (lead_search, rank) VALUES ('automerge', 8);
