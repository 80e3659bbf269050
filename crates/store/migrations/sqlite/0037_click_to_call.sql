-- issue 27 (dial): seats belong to people, click-to-call, and the inbound pop-up.
-- A user's seat extension (e.g. 8001): the SIP phone registered with Kamailio under that name.
ALTER TABLE users ADD COLUMN seat TEXT;
CREATE UNIQUE INDEX users_seat ON users(seat);

-- Calls the call service placed for an agent (click-to-call): who dialled (agent, seat), whom
-- (lead or customer), how it ended (result), the agent's own record of it (call_record_id) and
-- the length of its recording. The customer may now be the one who hung up first. SQLite cannot
-- widen a CHECK in place: the table is rebuilt.
CREATE TABLE phone_calls_0037 (
    id INTEGER PRIMARY KEY,
    sip_call_id TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    caller TEXT NOT NULL,
    callee TEXT NOT NULL,
    digits TEXT NOT NULL DEFAULT '',
    hung_up_by TEXT NOT NULL CHECK (hung_up_by IN ('caller', 'seat', 'customer', 'service')),
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    duration_s INTEGER NOT NULL,
    queue TEXT,
    seat TEXT,
    queue_result TEXT CHECK (queue_result IN ('answered', 'busy', 'no_answer', 'abandoned')),
    answered_at TEXT,
    wait_ms INTEGER,
    lead_id INTEGER REFERENCES leads(id),
    customer_id INTEGER REFERENCES customers(id),
    agent_id INTEGER REFERENCES users(id),
    result TEXT CHECK (result IN ('answered', 'busy', 'no_answer', 'failed')),
    call_record_id INTEGER REFERENCES calls(id),
    recording_ms INTEGER
);
INSERT INTO phone_calls_0037 (id, sip_call_id, direction, caller, callee, digits, hung_up_by,
    started_at, ended_at, duration_s, queue, seat, queue_result, answered_at, wait_ms)
SELECT id, sip_call_id, direction, caller, callee, digits, hung_up_by, started_at, ended_at,
    duration_s, queue, seat, queue_result, answered_at, wait_ms FROM phone_calls;
DROP TABLE phone_calls;
ALTER TABLE phone_calls_0037 RENAME TO phone_calls;
CREATE INDEX phone_calls_direction ON phone_calls(direction, started_at);
CREATE INDEX phone_calls_lead ON phone_calls(lead_id, started_at) WHERE lead_id IS NOT NULL;
CREATE INDEX phone_calls_customer ON phone_calls(customer_id, started_at) WHERE customer_id IS NOT NULL;
CREATE INDEX phone_calls_agent ON phone_calls(agent_id, started_at) WHERE agent_id IS NOT NULL;

-- A call's recording (WAV, 8 kHz 16-bit mono, both directions mixed), in the database for every
-- app server to play, apart from the call so that lists stay light.
CREATE TABLE phone_call_recordings (
    phone_call_id INTEGER PRIMARY KEY REFERENCES phone_calls(id),
    audio BLOB NOT NULL
);

-- What each seat's phone is doing now, for its person's workspace: an inbound call offered to it
-- (ringing) or bridged (talking), or a click-to-call it placed; `ended` once over. The number is
-- the other party's (the caller's, or the customer's dialled).
CREATE TABLE seat_calls (
    id INTEGER PRIMARY KEY,
    sip_call_id TEXT NOT NULL,
    seat TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    number TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('dialling', 'ringing', 'talking', 'ended')),
    lead_id INTEGER REFERENCES leads(id),
    customer_id INTEGER REFERENCES customers(id),
    -- The stored call once it ended.
    phone_call_id INTEGER REFERENCES phone_calls(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sip_call_id, seat)
);
CREATE INDEX seat_calls_user ON seat_calls(user_id, id);
