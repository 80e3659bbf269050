-- Call scripts (versions, team pins, use in calls), the knowledge base (category tree, Markdown
-- articles, tags) and one search index over articles, scripts and call notes.
CREATE TABLE scripts (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    shared BOOLEAN NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id),
    deleted_at TEXT
);
CREATE INDEX scripts_owner ON scripts(owner_id, id);
CREATE INDEX scripts_shared ON scripts(shared, id);

CREATE TABLE script_versions (
    id INTEGER PRIMARY KEY,
    script_id INTEGER NOT NULL REFERENCES scripts(id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    body TEXT NOT NULL,
    edited_by INTEGER REFERENCES users(id),
    edited_at TEXT NOT NULL,
    restored_from INTEGER,
    UNIQUE (script_id, version)
);

CREATE TABLE script_pins (
    team_id INTEGER NOT NULL REFERENCES teams(id),
    script_id INTEGER NOT NULL REFERENCES scripts(id),
    pinned_by INTEGER NOT NULL REFERENCES users(id),
    pinned_at TEXT NOT NULL,
    PRIMARY KEY (team_id, script_id)
);
CREATE INDEX script_pins_script ON script_pins(script_id);

ALTER TABLE calls ADD COLUMN script_id INTEGER REFERENCES scripts(id);
CREATE INDEX calls_script ON calls(script_id, disposition) WHERE script_id IS NOT NULL;

CREATE TABLE kb_categories (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES kb_categories(id),
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX kb_categories_parent ON kb_categories(parent_id);

CREATE TABLE kb_articles (
    id INTEGER PRIMARY KEY,
    category_id INTEGER REFERENCES kb_categories(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users(id),
    updated_by INTEGER REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX kb_articles_category ON kb_articles(category_id, id);

CREATE TABLE kb_article_tags (
    article_id INTEGER NOT NULL REFERENCES kb_articles(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (article_id, tag)
);
CREATE INDEX kb_article_tags_tag ON kb_article_tags(tag, article_id);

-- One row per searchable thing: `tokens` (title and body) and `title_tokens` are the segmented,
-- space-separated words written by leadline-search. The FTS5 table indexes them; the triggers
-- keep it in step, so the Rust code writes the same SQL on both backends.
CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id INTEGER NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    lead_id INTEGER REFERENCES leads(id),
    title_tokens TEXT NOT NULL,
    tokens TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX search_docs_lead ON search_docs(lead_id) WHERE lead_id IS NOT NULL;

-- A document's id is its kind's block (1, 2, 3 for article, script, call note) times 2^40 plus
-- the thing's own id, so a search for one kind is a rowid range inside the FTS5 index.
CREATE VIRTUAL TABLE search_fts USING fts5(
    title_tokens,
    tokens,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER search_docs_insert AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, title_tokens, tokens) VALUES (new.id, new.title_tokens, new.tokens);
END;
CREATE TRIGGER search_docs_delete AFTER DELETE ON search_docs BEGIN
    DELETE FROM search_fts WHERE rowid = old.id;
END;
CREATE TRIGGER search_docs_update AFTER UPDATE OF title_tokens, tokens ON search_docs BEGIN
    DELETE FROM search_fts WHERE rowid = old.id;
    INSERT INTO search_fts (rowid, title_tokens, tokens) VALUES (new.id, new.title_tokens, new.tokens);
END;
