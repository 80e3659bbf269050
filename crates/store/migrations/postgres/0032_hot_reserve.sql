-- Reserving a lead (next call) writes reserved_by and reserved_until. While those two columns
-- were in indexes (leads_fresh_pick, leads_reserved), every reservation was a non-HOT update that
-- wrote a new entry into each of the ~20 indexes of leads. Out of every index, and with free room
-- left in each page (fillfactor), a reservation is a HOT update: one new row version in the same
-- page, no index written. The pick filters reservations on the row it visits anyway (to lock it).
-- The lead an agent holds is found through lead_holds (one row per agent, the lead last reserved
-- for them; the lead row itself stays the truth: a hold counts only while the lead's
-- reserved_by and reserved_until say so).
DROP INDEX leads_reserved;
DROP INDEX leads_fresh_pick;
CREATE INDEX leads_fresh_pick ON leads(priority DESC, id, status, owner_id, pool_id, backup_owner_id, attempts, timezone)
    WHERE status = 'new' AND deleted_at IS NULL AND dnc = FALSE;
ALTER TABLE leads SET (fillfactor = 85);
CREATE TABLE lead_holds (
    agent_id BIGINT PRIMARY KEY,
    lead_id BIGINT NOT NULL
);
