-- issue 27: revisit confirmations (回访确认). The reminder call series also call a customer back
-- after an order is confirmed: the order's day and amount are spoken, key 1 confirms it and key 2
-- reaches the rep. Such a series belongs to the order (no instalment, one per order) and speaks
-- the order's day instead of a due date.
ALTER TABLE reminder_calls DROP CONSTRAINT reminder_calls_kind_check;
ALTER TABLE reminder_calls ADD CONSTRAINT reminder_calls_kind_check CHECK (kind IN ('payment', 'revisit'));
ALTER TABLE reminder_calls ALTER COLUMN instalment_id DROP NOT NULL;
ALTER TABLE reminder_calls ALTER COLUMN due_date DROP NOT NULL;
-- A revisit's order day (the organisation's calendar), spoken to the customer.
ALTER TABLE reminder_calls ADD COLUMN order_date TEXT;
ALTER TABLE reminder_calls ADD CONSTRAINT reminder_calls_payment_check
    CHECK (kind = 'revisit' OR (instalment_id IS NOT NULL AND due_date IS NOT NULL));
ALTER TABLE reminder_calls ADD CONSTRAINT reminder_calls_revisit_check
    CHECK (kind = 'payment' OR order_date IS NOT NULL);
CREATE UNIQUE INDEX reminder_calls_revisit ON reminder_calls(order_id) WHERE kind = 'revisit';
