-- Next call's fresh tier reads, besides the columns leads_fresh_pick already covered, the two the
-- visibility rule gained with ownership (pool_id, backup_owner_id). Without them SQLite stopped
-- choosing this index (it would have to visit the table for every entry) and read every new lead
-- through leads_status, then sorted them: 36 ms a call with 100,000 pool leads, which queued a
-- floor of 100 agents behind the single writer. Covering again, the tier is an index walk that
-- stops at the first callable lead.
DROP INDEX leads_fresh_pick;
CREATE INDEX leads_fresh_pick ON leads(priority DESC, id, status, owner_id, pool_id, backup_owner_id, reserved_until, reserved_by, attempts, timezone, deleted_at)
    WHERE status = 'new' AND deleted_at IS NULL AND dnc = FALSE;
