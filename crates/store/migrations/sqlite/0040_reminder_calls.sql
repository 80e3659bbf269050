-- issue 27: reminder calls (催缴). An instalment past its due date and still open gets one series
-- of automatic calls to the customer's primary number: the amount and due date are spoken and
-- key 1 reaches the rep. Do-not-call, calling hours and the attempt limit hold; each attempt's
-- outcome lands here and the call itself in phone_calls.
CREATE TABLE reminder_calls (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'payment' CHECK (kind IN ('payment')),
    instalment_id INTEGER NOT NULL UNIQUE REFERENCES payment_instalments(id),
    order_id INTEGER NOT NULL REFERENCES orders(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    -- The order's owner when planned: key 1 reaches them.
    rep_id INTEGER REFERENCES users(id),
    -- The customer's primary number; NULL when the customer has none (skipped: no_phone).
    e164 TEXT,
    amount_fen BIGINT NOT NULL,
    due_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'dialling', 'done', 'skipped', 'exhausted')),
    skip_reason TEXT CHECK (skip_reason IN ('dnc', 'no_phone', 'paid')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    -- The last attempt: answered | busy | no_answer | failed.
    result TEXT CHECK (result IN ('answered', 'busy', 'no_answer', 'failed')),
    -- The key the customer pressed ('1': put through to the rep).
    key_pressed TEXT,
    sip_call_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX reminder_calls_due ON reminder_calls(status, next_attempt_at);
CREATE INDEX reminder_calls_customer ON reminder_calls(customer_id);
