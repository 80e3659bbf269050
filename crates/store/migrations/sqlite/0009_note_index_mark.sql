-- Call notes are indexed for search after their calls, in batches (store::search::index_new_notes),
-- so that recording a call does not also write the full-text index: this row says up to which
-- call the notes are indexed. Notes recorded before this migration were indexed with their calls.
CREATE TABLE search_note_mark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_call_id INTEGER NOT NULL
);
INSERT INTO search_note_mark (id, last_call_id) SELECT 1, COALESCE(MAX(id), 0) FROM calls;
