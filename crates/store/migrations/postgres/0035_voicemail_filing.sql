-- issue 27: voicemails are re-filed and passed on. `category` is the current filing;
-- `caller_category` keeps what the caller chose. `version` lets two admins' edits conflict
-- instead of one silently overwriting the other.
ALTER TABLE voicemails ADD COLUMN caller_category TEXT NOT NULL DEFAULT '';
UPDATE voicemails SET caller_category = category;
ALTER TABLE voicemails ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'passed', 'done'));
ALTER TABLE voicemails ADD COLUMN assignee_id BIGINT REFERENCES users(id);
ALTER TABLE voicemails ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE voicemails ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE voicemails ADD COLUMN updated_at TIMESTAMPTZ;
CREATE INDEX voicemails_assignee ON voicemails(assignee_id, created_at);
