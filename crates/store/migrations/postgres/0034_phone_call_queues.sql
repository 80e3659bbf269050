-- issue 27 (sip27): calls that waited in a queue of seats. Which queue (the flow's node), the seat
-- that answered, how the wait ended, when the seat answered and how long the caller waited; a
-- seat may now be the one who hung up.
ALTER TABLE phone_calls DROP CONSTRAINT phone_calls_hung_up_by_check;
ALTER TABLE phone_calls ADD CONSTRAINT phone_calls_hung_up_by_check
    CHECK (hung_up_by IN ('caller', 'seat', 'service'));
ALTER TABLE phone_calls
    ADD COLUMN queue TEXT,
    ADD COLUMN seat TEXT,
    ADD COLUMN queue_result TEXT
        CHECK (queue_result IN ('answered', 'busy', 'no_answer', 'abandoned')),
    ADD COLUMN answered_at TIMESTAMPTZ,
    ADD COLUMN wait_ms BIGINT;
