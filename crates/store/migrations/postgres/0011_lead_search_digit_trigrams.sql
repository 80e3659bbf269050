-- Import speed (issue 3): phone numbers (and digit runs in names and companies) are indexed for
-- quick search as digit trigrams instead of every suffix of the number (see
-- leadline_domain::search_tokens): every lead's search_tokens are made again by the program after
-- migrating, in one transaction with this marker's removal.
INSERT INTO settings (key, value, updated_at)
    SELECT 'lead_search_rebuild', '"pending"', now()
    WHERE EXISTS (SELECT 1 FROM leads)
    ON CONFLICT (key) DO NOTHING;
