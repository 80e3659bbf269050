-- Pinyin search (issue 25): a lead's name and company are also indexed as pinyin, full and
-- initials (`wang`, `zhangwei`, `zw` find 张伟; see leadline_domain::search_tokens): the index
-- is rebuilt from the leads by the program after migrating, as 0008 and 0011 asked before, so
-- that an upgraded database finds its existing leads by pinyin too.
INSERT INTO settings (key, value, updated_at)
    SELECT 'lead_search_rebuild', 'pending', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')
    WHERE EXISTS (SELECT 1 FROM leads)
    ON CONFLICT (key) DO NOTHING;
