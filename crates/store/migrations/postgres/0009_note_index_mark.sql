-- SQLite indexes call notes for search after their calls, in batches, and keeps in this row up
-- to which call they are (store::search::index_new_notes). PostgreSQL indexes each note with its
-- call and does not read the row; the table is here so that both backends have the same tables.
CREATE TABLE search_note_mark (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    last_call_id BIGINT NOT NULL
);
INSERT INTO search_note_mark (id, last_call_id) SELECT 1, COALESCE(MAX(id), 0) FROM calls;
