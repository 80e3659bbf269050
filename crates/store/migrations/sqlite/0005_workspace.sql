-- The agent workspace: motivation ticker sentences and the notifications reminder jobs deliver.
CREATE TABLE ticker_messages (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);

-- One row per delivered reminder: the durable record. `job_id` is unique so that a job run
-- twice (a reclaimed job, a second app server) still notifies once.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    lead_id INTEGER REFERENCES leads(id),
    job_id INTEGER UNIQUE,
    payload TEXT NOT NULL DEFAULT '{}',
    due_at TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    read_at TEXT
);
CREATE INDEX notifications_user ON notifications(user_id, id);
