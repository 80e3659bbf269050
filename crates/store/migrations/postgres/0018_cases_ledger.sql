-- Collision cases (issue 22, cases): what the ledger needs beyond 0016.
--
-- An appealed case is decided again at leadership; the supervisor's rows of it stay in the
-- ledger as history but no longer count (superseded_at). repeat_flag marks a loss that made
-- its person a possible 恶意抢单 (repeat losses within the policy's period); the supervisor is
-- notified on the first flagged loss of a period.
ALTER TABLE collision_ledger ADD COLUMN superseded_at TIMESTAMPTZ;
ALTER TABLE collision_ledger ADD COLUMN repeat_flag BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX collision_ledger_case ON collision_ledger(case_id);
