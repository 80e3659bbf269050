-- Customers and sales (issue 23): customers converted from leads, their contacts and history,
-- opportunities through configurable stages, visits, grades, products, quotations, orders,
-- returns, payment plans, payments, collection notices and discount approval.
--
-- Money is exact: every *_fen column is an integer number of 分. Calendar days (due dates,
-- delivery and expected dates, a visit plan's day) are 'YYYY-MM-DD' text on both backends, so
-- they compare and sort as text. A customer is seen by the one visibility rule of leads
-- (owner, the owner's team through users.team_id, backup owner, pool; finance reads all),
-- rendered to SQL by store::customers, so no owner_team_id is stored to go stale.

-- Why an opportunity or a customer was lost (configured list).
CREATE TABLE lost_reasons (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
INSERT INTO lost_reasons (code, label_zh, label_en, position) VALUES
    ('price', '价格太高', 'Price too high', 1),
    ('competitor', '选择了竞争对手', 'Chose a competitor', 2),
    ('no_need', '没有需求', 'No need', 3),
    ('no_budget', '没有预算', 'No budget', 4),
    ('unreachable', '联系不上', 'Unreachable', 5),
    ('other', '其他', 'Other', 6);

-- 客户: a company or a person, owned like a lead (one owner, backup, pool).
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    -- company | person
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- domain::company_name::company_key of the company's name: the 撞单 match, one live
    -- customer per key. NULL for a person.
    company_key TEXT,
    address TEXT,
    city TEXT,
    industry TEXT,
    -- A | B | C (labels in grade_levels); NULL until first graded.
    grade TEXT,
    -- Set by hand with a reason: the monthly computation leaves it alone.
    grade_overridden BOOLEAN NOT NULL DEFAULT FALSE,
    grade_reason TEXT,
    graded_at TEXT,
    graded_by INTEGER REFERENCES users(id),
    owner_id INTEGER REFERENCES users(id),
    backup_owner_id INTEGER REFERENCES users(id),
    backup_may_edit BOOLEAN NOT NULL DEFAULT FALSE,
    -- A customer with no owner sits in this pool (NULL: the default pool).
    pool_id INTEGER REFERENCES pools(id),
    owned_since TEXT,
    -- prospect (潜在客户, nothing ordered yet) | active (has ordered) | lost (失败客户) | dormant
    status TEXT NOT NULL DEFAULT 'prospect',
    lost_reason_id INTEGER REFERENCES lost_reasons(id),
    -- The lead it was converted from first (others link through leads.customer_id).
    lead_id INTEGER REFERENCES leads(id),
    -- The last call or visit, and when the next contact is due by the grade's frequency: the
    -- "due for contact" list reads contact_due_at.
    last_contact_at TEXT,
    contact_due_at TEXT,
    notes TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX customers_company_key ON customers(company_key)
    WHERE company_key IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX customers_owner ON customers(owner_id, owned_since, id);
CREATE INDEX customers_backup ON customers(backup_owner_id) WHERE backup_owner_id IS NOT NULL;
CREATE INDEX customers_pool ON customers(pool_id, id) WHERE owner_id IS NULL;
CREATE INDEX customers_grade ON customers(grade, id);
CREATE INDEX customers_status ON customers(status, id);
CREATE INDEX customers_name ON customers(name, id);
CREATE INDEX customers_updated ON customers(updated_at, id);
CREATE INDEX customers_contact_due ON customers(contact_due_at) WHERE contact_due_at IS NOT NULL;
CREATE INDEX customers_lead ON customers(lead_id) WHERE lead_id IS NOT NULL;

-- The people at a customer (several), each with phones and an e-mail.
CREATE TABLE customer_contacts (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    name TEXT NOT NULL,
    title TEXT,
    -- As domain::lead::parse_email stores it (trimmed, lower case): the 撞单 match.
    email TEXT,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    position INTEGER NOT NULL DEFAULT 0,
    -- The lead it was created from at conversion, if any.
    lead_id INTEGER REFERENCES leads(id),
    notes TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX customer_contacts_customer ON customer_contacts(customer_id, position, id);
CREATE INDEX customer_contacts_email ON customer_contacts(email) WHERE email IS NOT NULL;

CREATE TABLE customer_contact_phones (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES customer_contacts(id),
    -- Denormalised from the contact: the 撞单 look-up by phone lands on the customer at once.
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    e164 TEXT NOT NULL,
    raw TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX customer_contact_phones_e164 ON customer_contact_phones(e164);
CREATE INDEX customer_contact_phones_contact ON customer_contact_phones(contact_id, position);
CREATE INDEX customer_contact_phones_customer ON customer_contact_phones(customer_id);

-- The customer's status, ownership and grade history (ownership_events is keyed by lead).
-- action: convert | create | link_lead | assign | transfer | claim | release | reclaim |
-- backup | status | grade. from_value/to_value: the old and new status or grade.
CREATE TABLE customer_events (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    from_user INTEGER REFERENCES users(id),
    to_user INTEGER REFERENCES users(id),
    actor_id INTEGER REFERENCES users(id),
    from_value TEXT,
    to_value TEXT,
    lead_id INTEGER REFERENCES leads(id),
    reason TEXT
);
CREATE INDEX customer_events_customer ON customer_events(customer_id, id);
CREATE INDEX customer_events_to ON customer_events(to_user, action, at);

-- A converted lead points at its customer; its calls and history stay on the lead.
ALTER TABLE leads ADD COLUMN customer_id INTEGER REFERENCES customers(id);
CREATE INDEX leads_customer ON leads(customer_id) WHERE customer_id IS NOT NULL;

-- Opportunity stages, configurable and ordered; one is_won and one is_lost stage end it.
CREATE TABLE opportunity_stages (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    is_won BOOLEAN NOT NULL DEFAULT FALSE,
    is_lost BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
INSERT INTO opportunity_stages (code, label_zh, label_en, position, is_won, is_lost) VALUES
    ('contact', '初步接触', 'First contact', 1, FALSE, FALSE),
    ('needs', '需求确认', 'Needs confirmed', 2, FALSE, FALSE),
    ('proposal', '方案报价', 'Proposal and quote', 3, FALSE, FALSE),
    ('negotiation', '谈判', 'Negotiation', 4, FALSE, FALSE),
    ('won', '成交', 'Won', 5, TRUE, FALSE),
    ('lost', '失败', 'Lost', 6, FALSE, TRUE);

CREATE TABLE opportunities (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    -- The lead it was converted from, if any.
    lead_id INTEGER REFERENCES leads(id),
    contact_id INTEGER REFERENCES customer_contacts(id),
    owner_id INTEGER REFERENCES users(id),
    title TEXT NOT NULL,
    stage_id INTEGER NOT NULL REFERENCES opportunity_stages(id),
    -- When it entered its present stage (the history holds the earlier ones).
    stage_entered_at TEXT NOT NULL,
    -- Order of the card within its column on the board.
    board_position INTEGER NOT NULL DEFAULT 0,
    amount_fen INTEGER NOT NULL DEFAULT 0,
    expected_date TEXT,
    lost_reason_id INTEGER REFERENCES lost_reasons(id),
    lost_note TEXT,
    won_at TEXT,
    lost_at TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX opportunities_customer ON opportunities(customer_id, id);
CREATE INDEX opportunities_owner_stage ON opportunities(owner_id, stage_id, board_position, id);
CREATE INDEX opportunities_stage ON opportunities(stage_id, id);

-- Each stage an opportunity was in: time in stage = left_at (or now) - entered_at.
CREATE TABLE opportunity_stage_history (
    id INTEGER PRIMARY KEY,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities(id),
    stage_id INTEGER NOT NULL REFERENCES opportunity_stages(id),
    entered_at TEXT NOT NULL,
    left_at TEXT,
    moved_by INTEGER REFERENCES users(id)
);
CREATE INDEX opportunity_stage_history_opp ON opportunity_stage_history(opportunity_id, entered_at);

-- Field visits (拜访), planned and done, with the market information reps report.
CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    contact_id INTEGER REFERENCES customer_contacts(id),
    -- The person who visits.
    user_id INTEGER NOT NULL REFERENCES users(id),
    -- planned | done | cancelled
    status TEXT NOT NULL DEFAULT 'planned',
    -- The day of the plan and the place in the day's route (客户路序).
    planned_day TEXT,
    route_order INTEGER,
    -- When the visit took place (NULL while planned).
    at TEXT,
    duration_min INTEGER,
    -- The outcome code (e.g. met | not_met | order | follow_up) and free notes.
    result TEXT,
    notes TEXT NOT NULL DEFAULT '',
    quality_view TEXT,
    price_view TEXT,
    other_brands TEXT,
    competitor_moves TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX visits_customer ON visits(customer_id, at);
CREATE INDEX visits_plan ON visits(user_id, planned_day, route_order);

-- Grades A/B/C: labels, the sales threshold over the grading window (settings key
-- customer_grade_window_months, default 3) and how often a customer of the grade is contacted.
CREATE TABLE grade_levels (
    code TEXT PRIMARY KEY,
    label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL,
    -- Lowest sales (confirmed orders less returns) in the window that earns the grade.
    min_sales_fen INTEGER NOT NULL,
    contact_every_days INTEGER NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
INSERT INTO grade_levels (code, label_zh, label_en, min_sales_fen, contact_every_days, position) VALUES
    ('A', '重点客户', 'Key', 10000000, 7, 1),
    ('B', '普通客户', 'Regular', 2000000, 14, 2),
    ('C', '非优先客户', 'Low priority', 0, 30, 3);

-- Products and bundles (a bundle is a product whose items are other products).
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    code TEXT UNIQUE,
    name TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    price_fen INTEGER NOT NULL,
    is_bundle BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX products_active ON products(active, name);

CREATE TABLE bundle_items (
    bundle_id INTEGER NOT NULL REFERENCES products(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (bundle_id, product_id)
);

-- Quotations (报价单); an accepted one becomes an order (order_id).
CREATE TABLE quotations (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    opportunity_id INTEGER REFERENCES opportunities(id),
    owner_id INTEGER REFERENCES users(id),
    -- draft | sent | accepted | rejected | ordered
    status TEXT NOT NULL DEFAULT 'draft',
    valid_until TEXT,
    total_fen INTEGER NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT '',
    order_id INTEGER,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX quotations_customer ON quotations(customer_id, id);

-- A line's money: list_price_fen is the product's price when written, unit_price_fen the
-- agreed one; discount_fen = (list - unit) * quantity and line_total_fen = unit * quantity.
CREATE TABLE quotation_lines (
    id INTEGER PRIMARY KEY,
    quotation_id INTEGER NOT NULL REFERENCES quotations(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    position INTEGER NOT NULL DEFAULT 0,
    quantity INTEGER NOT NULL,
    list_price_fen INTEGER NOT NULL,
    unit_price_fen INTEGER NOT NULL,
    discount_fen INTEGER NOT NULL DEFAULT 0,
    line_total_fen INTEGER NOT NULL
);
CREATE INDEX quotation_lines_quotation ON quotation_lines(quotation_id, position);

-- Orders (订单). status: draft | awaiting_approval | confirmed | cancelled. Only confirmed
-- orders are owed: balance = confirmed totals - returns - payments.
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    opportunity_id INTEGER REFERENCES opportunities(id),
    quotation_id INTEGER REFERENCES quotations(id),
    owner_id INTEGER REFERENCES users(id),
    status TEXT NOT NULL DEFAULT 'draft',
    delivery_date TEXT,
    -- Sum of the lines' line_total_fen.
    total_fen INTEGER NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT '',
    confirmed_at TEXT,
    confirmed_by INTEGER REFERENCES users(id),
    cancelled_at TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX orders_customer ON orders(customer_id, status, id);
CREATE INDEX orders_owner ON orders(owner_id, status, id);
CREATE INDEX orders_status ON orders(status, confirmed_at);

CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    position INTEGER NOT NULL DEFAULT 0,
    quantity INTEGER NOT NULL,
    list_price_fen INTEGER NOT NULL,
    unit_price_fen INTEGER NOT NULL,
    discount_fen INTEGER NOT NULL DEFAULT 0,
    line_total_fen INTEGER NOT NULL
);
CREATE INDEX order_lines_order ON order_lines(order_id, position);

-- Returns (退货): reduce what the customer owes by amount_fen (with lines, the sum of theirs).
CREATE TABLE returns (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    amount_fen INTEGER NOT NULL,
    reason TEXT NOT NULL,
    returned_at TEXT NOT NULL,
    recorded_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX returns_order ON returns(order_id);
CREATE INDEX returns_customer ON returns(customer_id, returned_at);

CREATE TABLE return_lines (
    id INTEGER PRIMARY KEY,
    return_id INTEGER NOT NULL REFERENCES returns(id),
    order_line_id INTEGER NOT NULL REFERENCES order_lines(id),
    quantity INTEGER NOT NULL,
    amount_fen INTEGER NOT NULL
);
CREATE INDEX return_lines_return ON return_lines(return_id);

-- The payment plan: instalments with due dates; the ageing report reads due_date.
CREATE TABLE payment_instalments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    seq INTEGER NOT NULL,
    due_date TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    -- The reminders sent to the owner before and after the due date.
    reminded_before_at TEXT,
    reminded_after_at TEXT,
    UNIQUE (order_id, seq)
);
CREATE INDEX payment_instalments_due ON payment_instalments(due_date, order_id);
CREATE INDEX payment_instalments_customer ON payment_instalments(customer_id, due_date);

-- Payments (收款), partial or whole, recorded by finance (财务).
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    amount_fen INTEGER NOT NULL,
    paid_at TEXT NOT NULL,
    -- bank_transfer | cash | cheque | other
    method TEXT NOT NULL DEFAULT 'bank_transfer',
    reference TEXT,
    notes TEXT NOT NULL DEFAULT '',
    recorded_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX payments_order ON payments(order_id);
CREATE INDEX payments_customer ON payments(customer_id, paid_at);
CREATE INDEX payments_paid_at ON payments(paid_at);

-- Collection notices (催收单) finance issues, printable.
CREATE TABLE collection_notices (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    amount_due_fen INTEGER NOT NULL,
    issued_by INTEGER NOT NULL REFERENCES users(id),
    issued_at TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT ''
);
CREATE INDEX collection_notices_order ON collection_notices(order_id);

-- Discount requests (优惠销售申请): an order priced below the requester's limit waits for one.
-- level: supervisor | admin (who must decide); status: pending | approved | rejected | withdrawn.
CREATE TABLE discount_requests (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    requested_by INTEGER NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    -- The deepest discount of the order's lines, in basis points of the list price.
    discount_bp INTEGER NOT NULL,
    level TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT,
    decision_note TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX discount_requests_status ON discount_requests(status, level, id);
CREATE INDEX discount_requests_order ON discount_requests(order_id, id);

-- The deepest discount (basis points of the list price) each role may give without approval,
-- and so approve. Beyond the supervisor's, the admin decides.
CREATE TABLE discount_limits (
    role TEXT PRIMARY KEY,
    max_discount_bp INTEGER NOT NULL
);
INSERT INTO discount_limits (role, max_discount_bp) VALUES
    ('agent', 0),
    ('sales', 500),
    ('supervisor', 1500),
    ('finance', 0),
    ('admin', 10000);
