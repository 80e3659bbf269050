-- Assessment (月度 / 年度考核, issue 24). The commission rules live in settings
-- ('commission_rules', JSON). A manager's adjustment of a person's month is a row here, with its
-- reason (also audited). Locking a month stores each person's figures as they were (`snapshot`,
-- JSON): a locked month is read from here and does not change when late records arrive; unlocking
-- (admins, with a reason) deletes the row. `month` is 'YYYY-MM'.

CREATE TABLE assessment_adjustments (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    month TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX assessment_adjustments_user ON assessment_adjustments(user_id, month);

CREATE TABLE assessment_locks (
    user_id INTEGER NOT NULL REFERENCES users(id),
    month TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    locked_by INTEGER NOT NULL REFERENCES users(id),
    locked_at TEXT NOT NULL,
    PRIMARY KEY (user_id, month)
);
CREATE INDEX assessment_locks_month ON assessment_locks(month);
