-- Issue 24: call statistics kept per agent and 15-minute slot (UTC), maintained by every write
-- of a call, so that any day, week or month in the organisation's time zone is a sum of slots.
-- 15 minutes rather than hours: every zone in use today is offset from UTC by a whole number of
-- quarter hours (India +5:30, Nepal +5:45, Chatham +12:45), so a local midnight always falls on
-- a slot boundary and a day is exact in any zone the organisation may choose.
-- slot_start is the slot's start in seconds since 1970 (UTC), a multiple of 900: an integer so
-- that both backends compute and compare it alike.
CREATE TABLE call_stats (
    agent_id BIGINT NOT NULL REFERENCES users(id),
    slot_start BIGINT NOT NULL,
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
    PRIMARY KEY (agent_id, slot_start)
);
CREATE INDEX call_stats_slot ON call_stats(slot_start, agent_id);

-- The calls recorded so far, counted once (the same statement as `leadline rollups rebuild`).
INSERT INTO call_stats (agent_id, slot_start, calls, connected, valid_conversations, qualified, talk_s,
    intent_resistant, intent_no_stance, intent_interested, intent_positive, intent_strong_demand)
SELECT c.agent_id, CAST(FLOOR(EXTRACT(EPOCH FROM c.started_at) / 900) AS BIGINT) * 900,
    COUNT(*),
    SUM(CASE WHEN d.connected THEN 1 ELSE 0 END),
    SUM(CASE WHEN d.valid_conversation THEN 1 ELSE 0 END),
    SUM(CASE WHEN d.qualified THEN 1 ELSE 0 END),
    SUM(CASE WHEN d.connected AND c.duration_s > 0 THEN c.duration_s ELSE 0 END),
    SUM(CASE WHEN c.intent = 'resistant' THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.intent = 'no_stance' THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.intent = 'interested' THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.intent = 'positive' THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.intent = 'strong_demand' THEN 1 ELSE 0 END)
FROM calls c LEFT JOIN dispositions d ON d.code = c.disposition
GROUP BY 1, 2;

-- The per-day counters were kept by a Shanghai calendar day; the slots serve any zone.
DROP TABLE agent_daily_stats;
