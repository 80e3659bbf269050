-- issue 27: calls the call service answered (or, later, placed), and the voicemail left on them.
-- Apart from `calls` (an agent's record of a call to a lead): these need neither a lead nor an
-- agent, and keep the keys the caller pressed.
CREATE TABLE phone_calls (
    id INTEGER PRIMARY KEY,
    sip_call_id TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    caller TEXT NOT NULL,
    callee TEXT NOT NULL,
    digits TEXT NOT NULL DEFAULT '',
    hung_up_by TEXT NOT NULL CHECK (hung_up_by IN ('caller', 'service')),
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    duration_s INTEGER NOT NULL
);
CREATE INDEX phone_calls_direction ON phone_calls(direction, started_at);

CREATE TABLE voicemails (
    id INTEGER PRIMARY KEY,
    sip_call_id TEXT NOT NULL,
    caller TEXT NOT NULL,
    category TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    -- The recording (WAV, 8 kHz 16-bit mono) in the database, for every app server to play.
    audio BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX voicemails_created ON voicemails(created_at);
