-- Issue 23: what is still open of each instalment is kept on it (paid_fen, open_fen), updated by
-- the payment and return transactions, so that the unpaid (ageing) report sums open instalments
-- by due date instead of recomputing every order's payments. Backfilled here by the rule of
-- domain::sales_receivables::settle_instalments (returns off the last instalments, payments on
-- the earliest); the same statement is store::sales::ledger::SETTLE_ALL.
ALTER TABLE payment_instalments ADD COLUMN paid_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_instalments ADD COLUMN open_fen BIGINT NOT NULL DEFAULT 0;

WITH sums AS (
    SELECT o.id AS order_id, COALESCE(r.fen, 0) AS returned, COALESCE(p.fen, 0) AS paid
    FROM orders o
    LEFT JOIN (SELECT order_id, CAST(SUM(amount_fen) AS BIGINT) AS fen FROM returns GROUP BY order_id) r
        ON r.order_id = o.id
    LEFT JOIN (SELECT order_id, CAST(SUM(amount_fen) AS BIGINT) AS fen FROM payments GROUP BY order_id) p
        ON p.order_id = o.id),
-- What the later instalments come to: returns take them off first.
later AS (
    SELECT i.id, i.order_id, i.seq, i.amount_fen, s.returned, s.paid,
        CAST(COALESCE(SUM(i.amount_fen) OVER (PARTITION BY i.order_id ORDER BY i.seq DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS after_fen
    FROM payment_instalments i JOIN sums s ON s.order_id = i.order_id),
net AS (
    SELECT id, order_id, seq, paid, amount_fen - CASE WHEN returned - after_fen <= 0 THEN 0
        WHEN returned - after_fen >= amount_fen THEN amount_fen ELSE returned - after_fen END AS net_fen
    FROM later),
-- What the earlier instalments still came to after returns: payments settle them first.
earlier AS (
    SELECT id, paid, net_fen, CAST(COALESCE(SUM(net_fen) OVER (PARTITION BY order_id ORDER BY seq
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS before_fen
    FROM net),
settled AS (
    SELECT id, net_fen, CASE WHEN paid - before_fen <= 0 THEN 0 WHEN paid - before_fen >= net_fen
        THEN net_fen ELSE paid - before_fen END AS paid_fen
    FROM earlier)
UPDATE payment_instalments SET paid_fen = settled.paid_fen, open_fen = settled.net_fen - settled.paid_fen
FROM settled WHERE settled.id = payment_instalments.id;

CREATE INDEX payment_instalments_open_due ON payment_instalments(due_date) WHERE open_fen > 0;
