-- The agent's day (issue 4): what a lead needs to be served and revisited, the admin-configured
-- dispositions, revisit rules, calling hours, holidays and do-not-call list, daily targets,
-- plans and statistics, and the durable job queue behind reminders.

ALTER TABLE leads ADD COLUMN next_revisit_at TEXT;
ALTER TABLE leads ADD COLUMN revisit_agent_id INTEGER REFERENCES users(id);
ALTER TABLE leads ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN last_called_at TEXT;
ALTER TABLE leads ADD COLUMN reserved_by INTEGER REFERENCES users(id);
ALTER TABLE leads ADD COLUMN reserved_until TEXT;
ALTER TABLE leads ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
-- NULL means Asia/Shanghai.
ALTER TABLE leads ADD COLUMN timezone TEXT;
CREATE INDEX leads_due ON leads(next_revisit_at, id) WHERE next_revisit_at IS NOT NULL;
CREATE INDEX leads_revisit_agent ON leads(revisit_agent_id, next_revisit_at) WHERE revisit_agent_id IS NOT NULL;
CREATE INDEX leads_fresh ON leads(status, priority DESC, id);
CREATE INDEX leads_reserved ON leads(reserved_by) WHERE reserved_by IS NOT NULL;
CREATE INDEX leads_timezone ON leads(timezone) WHERE timezone IS NOT NULL;

ALTER TABLE calls ADD COLUMN outside_window BOOLEAN NOT NULL DEFAULT 0;
-- The client's submission id (Idempotency-Key): the same submission twice records one call.
ALTER TABLE calls ADD COLUMN request_id TEXT;
CREATE UNIQUE INDEX calls_request ON calls(agent_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE dispositions (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL,
    -- The lead status the disposition sets (NULL keeps the status).
    sets_status TEXT,
    connected BOOLEAN NOT NULL DEFAULT 0,
    valid_conversation BOOLEAN NOT NULL DEFAULT 0,
    qualified BOOLEAN NOT NULL DEFAULT 0,
    adds_dnc BOOLEAN NOT NULL DEFAULT 0,
    hotkey TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT 1
);
INSERT INTO dispositions (code, label_zh, label_en, sets_status, connected, valid_conversation, qualified, adds_dnc, hotkey, position) VALUES
    ('connected', '已接通', 'Connected', 'contacted', 1, 1, 0, 0, '1', 1),
    ('no_answer', '未接', 'No answer', 'call_back', 0, 0, 0, 0, '2', 2),
    ('busy', '占线', 'Busy', 'call_back', 0, 0, 0, 0, '3', 3),
    ('wrong_number', '空号/错号', 'Wrong number', 'invalid_number', 0, 0, 0, 0, '4', 4),
    ('call_back', '要求回电', 'Call back', 'call_back', 1, 1, 0, 0, '5', 5),
    ('not_interested', '无意向', 'Not interested', 'not_interested', 1, 1, 0, 0, '6', 6),
    ('dnc_request', '要求勿扰', 'Do-not-call request', 'do_not_call', 1, 0, 0, 1, '7', 7),
    ('qualified', '合格/有意向转销售', 'Qualified (to sales)', 'qualified', 1, 1, 1, 0, '8', 8);

-- Revisit rules: the most specific active rule matching the disposition, the intent level and
-- the attempt number decides the delay; NULL disposition/intent match any.
CREATE TABLE revisit_rules (
    id INTEGER PRIMARY KEY,
    disposition TEXT,
    intent TEXT,
    attempt_from INTEGER NOT NULL DEFAULT 1,
    attempt_to INTEGER,
    -- NULL: no revisit is scheduled.
    delay_amount INTEGER,
    delay_unit TEXT NOT NULL DEFAULT 'hours',
    max_attempts INTEGER,
    -- 'stop' | 'return_to_pool' | 'mark_invalid'
    after_last TEXT NOT NULL DEFAULT 'stop',
    position INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT 1
);
INSERT INTO revisit_rules (disposition, intent, attempt_from, attempt_to, delay_amount, delay_unit, max_attempts, after_last, position) VALUES
    ('no_answer', NULL, 1, 2, 2, 'hours', 6, 'mark_invalid', 1),
    ('no_answer', NULL, 3, NULL, 1, 'days', 6, 'mark_invalid', 2),
    ('busy', NULL, 1, NULL, 30, 'minutes', 6, 'return_to_pool', 3),
    ('call_back', NULL, 1, NULL, 1, 'days', 10, 'return_to_pool', 4),
    ('connected', 'interested', 1, NULL, 1, 'days', 8, 'return_to_pool', 5),
    ('connected', 'positive', 1, NULL, 1, 'days', 8, 'return_to_pool', 6),
    ('connected', 'strong_demand', 1, NULL, 4, 'hours', 8, 'return_to_pool', 7),
    ('connected', NULL, 1, NULL, 3, 'days', 8, 'return_to_pool', 8),
    ('not_interested', NULL, 1, NULL, 30, 'days', 3, 'stop', 9);

-- Calling windows per team (NULL team: the default), weekday 1 = Monday … 7 = Sunday, minutes
-- after local midnight in the lead's time zone; the gaps between windows are breaks.
CREATE TABLE calling_windows (
    id INTEGER PRIMARY KEY,
    team_id INTEGER REFERENCES teams(id),
    weekday INTEGER NOT NULL,
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL
);
CREATE INDEX calling_windows_team ON calling_windows(team_id, weekday);
INSERT INTO calling_windows (team_id, weekday, start_minute, end_minute) VALUES
    (NULL, 1, 540, 720), (NULL, 1, 840, 1080),
    (NULL, 2, 540, 720), (NULL, 2, 840, 1080),
    (NULL, 3, 540, 720), (NULL, 3, 840, 1080),
    (NULL, 4, 540, 720), (NULL, 4, 840, 1080),
    (NULL, 5, 540, 720), (NULL, 5, 840, 1080);

-- Holidays ('holiday': no calls) and make-up working days ('workday': called like a Monday
-- even on a weekend, 调休); `day` is 'YYYY-MM-DD' in the lead's zone.
CREATE TABLE holidays (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'holiday'
);

CREATE TABLE dnc_numbers (
    id INTEGER PRIMARY KEY,
    e164 TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL DEFAULT '',
    added_by INTEGER REFERENCES users(id),
    added_at TEXT NOT NULL
);

CREATE TABLE agent_targets (
    agent_id INTEGER PRIMARY KEY REFERENCES users(id),
    daily_calls INTEGER NOT NULL,
    set_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);

CREATE TABLE plan_items (
    agent_id INTEGER NOT NULL REFERENCES users(id),
    plan_date TEXT NOT NULL,
    lead_id INTEGER NOT NULL REFERENCES leads(id),
    position INTEGER NOT NULL,
    source TEXT NOT NULL,
    done_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (agent_id, plan_date, lead_id)
);
CREATE INDEX plan_items_lead ON plan_items(lead_id);

CREATE TABLE agent_daily_stats (
    agent_id INTEGER NOT NULL REFERENCES users(id),
    day TEXT NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0,
    connected INTEGER NOT NULL DEFAULT 0,
    valid_conversations INTEGER NOT NULL DEFAULT 0,
    qualified INTEGER NOT NULL DEFAULT 0,
    talk_s INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, day)
);
CREATE INDEX agent_daily_stats_day ON agent_daily_stats(day, agent_id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    run_at TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending',
    claimed_by TEXT,
    claimed_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at TEXT,
    created_at TEXT NOT NULL,
    dedup_key TEXT UNIQUE
);
CREATE INDEX jobs_due ON jobs(status, run_at);
