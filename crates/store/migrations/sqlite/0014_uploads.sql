-- Import files received over HTTP, stored where every app server can read them: the upload's
-- name and owner, then its bytes in chunks of about 1 MB (`size` is set once the last is stored).
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    file_name TEXT NOT NULL,
    extension TEXT NOT NULL,
    size INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX uploads_created ON uploads(created_at);

CREATE TABLE upload_chunks (
    upload_id INTEGER NOT NULL REFERENCES uploads(id),
    seq INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
