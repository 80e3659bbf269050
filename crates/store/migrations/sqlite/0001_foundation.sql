-- Foundation: people, sessions, leads, custom fields, views, audit, calls.
CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    team_id INTEGER REFERENCES teams(id),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    locale TEXT NOT NULL DEFAULT 'zh-CN',
    time_zone TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX users_team ON users(team_id);

CREATE TABLE team_supervisors (
    team_id INTEGER NOT NULL REFERENCES teams(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures(username, at);
CREATE INDEX login_failures_client ON login_failures(client, at);

CREATE TABLE custom_fields (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL,
    kind TEXT NOT NULL,
    required BOOLEAN NOT NULL DEFAULT 0,
    options TEXT NOT NULL DEFAULT '[]',
    position INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE leads (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    company TEXT,
    company_norm TEXT,
    title TEXT,
    city TEXT,
    region TEXT,
    source TEXT,
    status TEXT NOT NULL,
    intent TEXT,
    owner_id INTEGER REFERENCES users(id),
    created_by INTEGER REFERENCES users(id),
    custom TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX leads_owner_status ON leads(owner_id, status, id);
CREATE INDEX leads_status ON leads(status, id);
CREATE INDEX leads_source ON leads(source, id);
CREATE INDEX leads_city ON leads(city, id);
CREATE INDEX leads_company_norm ON leads(company_norm);
CREATE INDEX leads_updated ON leads(updated_at, id);
CREATE INDEX leads_name ON leads(name, id);

CREATE TABLE lead_phones (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads(id),
    e164 TEXT NOT NULL,
    raw TEXT NOT NULL,
    position INTEGER NOT NULL,
    collision_with INTEGER REFERENCES leads(id)
);
CREATE UNIQUE INDEX lead_phones_unique ON lead_phones(e164) WHERE collision_with IS NULL;
CREATE INDEX lead_phones_e164 ON lead_phones(e164);
CREATE INDEX lead_phones_lead ON lead_phones(lead_id);

CREATE TABLE lead_tags (
    lead_id INTEGER NOT NULL REFERENCES leads(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (lead_id, tag)
);
CREATE INDEX lead_tags_tag ON lead_tags(tag, lead_id);

CREATE VIRTUAL TABLE lead_search USING fts5(
    tokens,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '3 4'
);

CREATE TABLE collisions (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads(id),
    existing_lead_id INTEGER NOT NULL REFERENCES leads(id),
    phone_e164 TEXT NOT NULL,
    existing_owner_id INTEGER REFERENCES users(id),
    new_owner_id INTEGER REFERENCES users(id),
    recorded_by INTEGER NOT NULL REFERENCES users(id),
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL
);
CREATE INDEX collisions_lead ON collisions(lead_id);

CREATE TABLE saved_views (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    filter TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    actor_id INTEGER REFERENCES users(id),
    action TEXT NOT NULL,
    before TEXT,
    after TEXT,
    at TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id, id);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads(id),
    agent_id INTEGER NOT NULL REFERENCES users(id),
    started_at TEXT NOT NULL,
    duration_s INTEGER NOT NULL,
    disposition TEXT NOT NULL,
    intent TEXT,
    notes TEXT NOT NULL DEFAULT '',
    next_revisit_at TEXT
);
CREATE INDEX calls_lead ON calls(lead_id, started_at);
CREATE INDEX calls_agent ON calls(agent_id, started_at);
