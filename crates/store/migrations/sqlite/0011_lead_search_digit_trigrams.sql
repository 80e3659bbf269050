-- Import speed (issue 3): phone numbers (and digit runs in names and companies) are indexed for
-- quick search as digit trigrams instead of every suffix of the number (see
-- leadline_domain::search_tokens): the index is rebuilt from the leads by the program after
-- migrating, as 0008 asked before.
INSERT INTO settings (key, value, updated_at)
    SELECT 'lead_search_rebuild', 'pending', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')
    WHERE EXISTS (SELECT 1 FROM leads)
    ON CONFLICT (key) DO NOTHING;
