-- issue 27: revisit confirmations (回访确认). The reminder call series also call a customer back
-- after an order is confirmed: the order's day and amount are spoken, key 1 confirms it and key 2
-- reaches the rep. Such a series belongs to the order (no instalment, one per order) and speaks
-- the order's day instead of a due date.
-- SQLite cannot change a CHECK or a NOT NULL in place: the table is rebuilt.
CREATE TABLE reminder_calls_new (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'payment' CHECK (kind IN ('payment', 'revisit')),
    instalment_id INTEGER UNIQUE REFERENCES payment_instalments(id),
    order_id INTEGER NOT NULL REFERENCES orders(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    rep_id INTEGER REFERENCES users(id),
    e164 TEXT,
    amount_fen BIGINT NOT NULL,
    due_date TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'dialling', 'done', 'skipped', 'exhausted')),
    skip_reason TEXT CHECK (skip_reason IN ('dnc', 'no_phone', 'paid')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    result TEXT CHECK (result IN ('answered', 'busy', 'no_answer', 'failed')),
    key_pressed TEXT,
    sip_call_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- A revisit's order day (the organisation's calendar), spoken to the customer.
    order_date TEXT,
    CHECK (kind = 'revisit' OR (instalment_id IS NOT NULL AND due_date IS NOT NULL)),
    CHECK (kind = 'payment' OR order_date IS NOT NULL)
);
INSERT INTO reminder_calls_new (id, kind, instalment_id, order_id, customer_id, rep_id, e164,
    amount_fen, due_date, status, skip_reason, attempts, next_attempt_at, last_attempt_at, result,
    key_pressed, sip_call_id, created_at, updated_at)
SELECT id, kind, instalment_id, order_id, customer_id, rep_id, e164, amount_fen, due_date, status,
    skip_reason, attempts, next_attempt_at, last_attempt_at, result, key_pressed, sip_call_id,
    created_at, updated_at FROM reminder_calls;
DROP TABLE reminder_calls;
ALTER TABLE reminder_calls_new RENAME TO reminder_calls;
CREATE INDEX reminder_calls_due ON reminder_calls(status, next_attempt_at);
CREATE INDEX reminder_calls_customer ON reminder_calls(customer_id);
CREATE UNIQUE INDEX reminder_calls_revisit ON reminder_calls(order_id) WHERE kind = 'revisit';
