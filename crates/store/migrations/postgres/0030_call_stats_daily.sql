-- Issue 24, fast at size: call statistics per agent and statistics day, beside the 15-minute
-- slots (call_stats). A month of a team reads a few hundred day rows instead of tens of
-- thousands of slots. The day is the local date in the zone named in call_stats_daily_zone
-- (the organisation's zone, changed with it in one transaction), as days since 1970-01-01.
-- Every write of a call counts into both tables in its own transaction; the slots stay the
-- exact source for hours and for rebuilding the days when the zone changes.
CREATE TABLE call_stats_daily (
    agent_id BIGINT NOT NULL REFERENCES users(id),
    day BIGINT NOT NULL,
    calls BIGINT NOT NULL DEFAULT 0,
    connected BIGINT NOT NULL DEFAULT 0,
    valid_conversations BIGINT NOT NULL DEFAULT 0,
    qualified BIGINT NOT NULL DEFAULT 0,
    talk_s BIGINT NOT NULL DEFAULT 0,
    intent_resistant BIGINT NOT NULL DEFAULT 0,
    intent_no_stance BIGINT NOT NULL DEFAULT 0,
    intent_interested BIGINT NOT NULL DEFAULT 0,
    intent_positive BIGINT NOT NULL DEFAULT 0,
    intent_strong_demand BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, day)
);
CREATE INDEX call_stats_daily_day ON call_stats_daily(day, agent_id);

-- The zone the days are counted in: one row once built. Empty until the program builds the
-- days from the slots after this migration (`Db::migrate`); while empty, writers count slots
-- only and reports read the slots.
CREATE TABLE call_stats_daily_zone (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    zone TEXT NOT NULL
);
