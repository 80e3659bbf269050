-- Knowledge search on PostgreSQL (issue 26): PostgreSQL's migration 0039 adds an inverted index
-- (search_postings) that FTS5 already is on SQLite. Nothing to change here; the number is kept
-- so both backends stand at the same migration.
SELECT 1;
