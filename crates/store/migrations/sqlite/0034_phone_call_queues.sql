-- issue 27 (sip27): calls that waited in a queue of seats. Which queue (the flow's node), the seat
-- that answered, how the wait ended, when the seat answered and how long the caller waited; a
-- seat may now be the one who hung up. SQLite cannot widen a CHECK in place: the table is rebuilt.
CREATE TABLE phone_calls_0034 (
    id INTEGER PRIMARY KEY,
    sip_call_id TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    caller TEXT NOT NULL,
    callee TEXT NOT NULL,
    digits TEXT NOT NULL DEFAULT '',
    hung_up_by TEXT NOT NULL CHECK (hung_up_by IN ('caller', 'seat', 'service')),
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    duration_s INTEGER NOT NULL,
    queue TEXT,
    seat TEXT,
    queue_result TEXT CHECK (queue_result IN ('answered', 'busy', 'no_answer', 'abandoned')),
    answered_at TEXT,
    wait_ms INTEGER
);
INSERT INTO phone_calls_0034 (id, sip_call_id, direction, caller, callee, digits, hung_up_by,
    started_at, ended_at, duration_s)
SELECT id, sip_call_id, direction, caller, callee, digits, hung_up_by, started_at, ended_at,
    duration_s FROM phone_calls;
DROP TABLE phone_calls;
ALTER TABLE phone_calls_0034 RENAME TO phone_calls;
CREATE INDEX phone_calls_direction ON phone_calls(direction, started_at);
