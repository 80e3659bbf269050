-- Import speed (issue 3): the lead quick-search index stores the tokens the program made, as they
-- are, and only which leads hold each token.
-- * tokenize = 'ascii': the program already splits and lower-cases (CJK unigrams and bigrams,
--   words, phone-digit suffixes) and separates tokens with spaces; unicode61 split them again,
--   so a word it reads differently (Hindi किताब, whose vowel signs it takes for separators)
--   became a several-token phrase. `ascii` splits only at ASCII punctuation and spaces, which
--   no token contains, so each token stays one.
-- * detail = none: searches ask only which leads hold a token (or a token's prefix), never where,
--   so positions are not kept. With the tokenizer, a 200,000-row import took 12-15% less CPU.
-- The index is contentless, so its tokens cannot be rebuilt here: the marker below has the
-- program rebuild them from the leads after migrating, in one transaction with its removal.
DROP TABLE lead_search;
CREATE VIRTUAL TABLE lead_search USING fts5(
    tokens,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii',
    prefix = '3 4',
    detail = none
);
INSERT INTO settings (key, value, updated_at)
    SELECT 'lead_search_rebuild', 'pending', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')
    WHERE EXISTS (SELECT 1 FROM leads);
