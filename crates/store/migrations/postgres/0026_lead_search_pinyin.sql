-- Pinyin search (issue 25): a lead's name and company are also indexed as pinyin, full and
-- initials (`wang`, `zhangwei`, `zw` find 张伟; see leadline_domain::search_tokens): every
-- lead's search_tokens are made again by the program after migrating, in one transaction with
-- this marker's removal, so that an upgraded database finds its existing leads by pinyin too.
INSERT INTO settings (key, value, updated_at)
    SELECT 'lead_search_rebuild', '"pending"', now()
    WHERE EXISTS (SELECT 1 FROM leads)
    ON CONFLICT (key) DO NOTHING;
