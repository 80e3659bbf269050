-- Knowledge search on PostgreSQL (issue 26): an inverted index of the words of articles and
-- scripts, one row per (word, document), kept in step with search_docs by the triggers below.
-- Its primary key lists each word's documents in id order, so the newest documents holding a
-- word are read from the index alone (an index-only scan backwards, as FTS5 walks a posting
-- list), where a tsvector search reads and tests every row of the kind, newest first, until it
-- has enough (9,000 rows for a question whose synonyms match one article in ten). `in_title`
-- and `doc_len` (the document's distinct words) are what ranking needs besides the match, so
-- an article search touches no other table until the results are chosen. Call notes stay out:
-- they are indexed with every recorded call, and are searched as before (the tsvector GIN).
-- The table is derived: `leadline copy` builds it from the copied documents.
CREATE TABLE search_postings (
    term TEXT COLLATE "C" NOT NULL,
    doc_id BIGINT NOT NULL,
    in_title BOOLEAN NOT NULL,
    doc_len INTEGER NOT NULL,
    PRIMARY KEY (term, doc_id) INCLUDE (in_title, doc_len)
);

-- The postings of one document (none for a call note).
CREATE FUNCTION search_postings_of(doc search_docs) RETURNS TABLE (term TEXT, doc_id BIGINT, in_title BOOLEAN, doc_len INTEGER)
LANGUAGE sql STABLE AS $$
    SELECT u.lexeme, doc.id, t.lexeme IS NOT NULL, length(doc.tokens)
    FROM unnest(doc.tokens) u LEFT JOIN unnest(doc.title_tokens) t ON t.lexeme = u.lexeme
    WHERE doc.kind <> 'call_note'
$$;

CREATE FUNCTION search_postings_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.tokens = NEW.tokens AND OLD.title_tokens = NEW.title_tokens THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.kind <> 'call_note' THEN
        DELETE FROM search_postings
            WHERE term = ANY (tsvector_to_array(OLD.tokens)) AND doc_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO search_postings (term, doc_id, in_title, doc_len)
            SELECT * FROM search_postings_of(NEW);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER search_postings_sync AFTER INSERT OR UPDATE OR DELETE ON search_docs
    FOR EACH ROW EXECUTE FUNCTION search_postings_sync();

CREATE FUNCTION search_postings_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE search_postings;
    RETURN NULL;
END $$;
CREATE TRIGGER search_postings_clear AFTER TRUNCATE ON search_docs
    FOR EACH STATEMENT EXECUTE FUNCTION search_postings_clear();

-- Builds the whole table from search_docs (here, and after `leadline copy`, which loads
-- search_docs with its triggers off).
CREATE FUNCTION search_postings_rebuild() RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
BEGIN
    DELETE FROM search_postings;
    INSERT INTO search_postings (term, doc_id, in_title, doc_len)
        SELECT p.* FROM search_docs d CROSS JOIN LATERAL search_postings_of(d) p
        WHERE d.kind <> 'call_note';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
SELECT search_postings_rebuild();
