-- issue 24: sales targets (销售定额) per person or team and month, the daily work report (工作日报)
-- with the supervisor's comments, and weekly / monthly work plans (周 / 月计划表) for approval.

-- One row per subject and month; a year is set at once (twelve rows). Amounts in 分.
CREATE TABLE sales_targets (
    id INTEGER PRIMARY KEY,
    -- user | team
    scope TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    year INTEGER NOT NULL,
    month INTEGER NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0,
    valid_conversations INTEGER NOT NULL DEFAULT 0,
    qualified INTEGER NOT NULL DEFAULT 0,
    new_customers INTEGER NOT NULL DEFAULT 0,
    orders INTEGER NOT NULL DEFAULT 0,
    revenue_fen INTEGER NOT NULL DEFAULT 0,
    collections_fen INTEGER NOT NULL DEFAULT 0,
    set_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL,
    UNIQUE (scope, subject_id, year, month)
);

-- A submitted daily report: the person's words. The figures are read from the records each
-- time (calls, visits, orders, payments), so they always equal them.
CREATE TABLE daily_reports (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    -- The statistics day, 'YYYY-MM-DD'.
    day TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    problems TEXT NOT NULL DEFAULT '',
    market_info TEXT NOT NULL DEFAULT '',
    -- How many times it was submitted (a resubmission before any comment replaces it).
    version INTEGER NOT NULL DEFAULT 1,
    submitted_at TEXT NOT NULL,
    UNIQUE (user_id, day)
);
CREATE INDEX daily_reports_day ON daily_reports(day, user_id);

CREATE TABLE daily_report_comments (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES daily_reports(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX daily_report_comments_report ON daily_report_comments(report_id, id);

-- A work plan for a week (period_start a Monday) or a month (the 1st).
CREATE TABLE work_plans (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    -- week | month
    period TEXT NOT NULL,
    period_start TEXT NOT NULL,
    -- Free text, one item a line.
    items TEXT NOT NULL DEFAULT '',
    goal_calls INTEGER NOT NULL DEFAULT 0,
    goal_valid_conversations INTEGER NOT NULL DEFAULT 0,
    goal_qualified INTEGER NOT NULL DEFAULT 0,
    goal_new_customers INTEGER NOT NULL DEFAULT 0,
    goal_visits INTEGER NOT NULL DEFAULT 0,
    goal_orders INTEGER NOT NULL DEFAULT 0,
    goal_revenue_fen INTEGER NOT NULL DEFAULT 0,
    -- submitted | approved | rejected
    status TEXT NOT NULL DEFAULT 'submitted',
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT,
    decision_note TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    submitted_at TEXT NOT NULL,
    UNIQUE (user_id, period, period_start)
);
CREATE INDEX work_plans_status ON work_plans(status, period_start);
