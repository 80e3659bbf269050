-- Call quality checks (质检, issue 24): a configured checklist built from the service rules, and
-- a supervisor's review of one call scored item by item. Scores are whole points; each stored
-- item score keeps the item's maximum at the time, so a later change of the checklist does not
-- change a past review. `call_day` is the call's statistics day ('YYYY-MM-DD'), by which monthly
-- quality scores are summed for the assessment.

CREATE TABLE qc_items (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL,
    max_score INTEGER NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
INSERT INTO qc_items (code, label_zh, label_en, max_score, position) VALUES
    ('self_intro', '自报单位、部门、姓名', 'Gave company, department and own name', 15, 1),
    ('purpose', '说明来意', 'Said why they called', 10, 2),
    ('courtesy', '声音温雅、礼貌用语', 'Courteous, pleasant voice', 15, 3),
    ('needs', '了解需求、不生硬打断客户', 'Found the need without interrupting', 15, 4),
    ('no_pressure', '不强迫客户接受产品', 'No pressure on the customer', 10, 5),
    ('recap', '适当复述，确保客户理解', 'Recapped so the customer understood', 10, 6),
    ('length', '通话长度适当，不闲聊偏题', 'Kept the call to the point', 10, 7),
    ('notes', '记录完整（时间、人、结果）', 'Notes complete (time, person, result)', 10, 8),
    ('hang_up_last', '让客户先挂机', 'Let the customer hang up first', 5, 9);

CREATE TABLE qc_reviews (
    id INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL UNIQUE REFERENCES calls(id),
    agent_id INTEGER NOT NULL REFERENCES users(id),
    call_day TEXT NOT NULL,
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    score INTEGER NOT NULL,
    max_score INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX qc_reviews_agent ON qc_reviews(agent_id, call_day);

CREATE TABLE qc_scores (
    review_id INTEGER NOT NULL REFERENCES qc_reviews(id),
    item_id INTEGER NOT NULL REFERENCES qc_items(id),
    score INTEGER NOT NULL,
    max_score INTEGER NOT NULL,
    PRIMARY KEY (review_id, item_id)
);
