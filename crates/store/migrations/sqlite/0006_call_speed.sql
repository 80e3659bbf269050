-- Next-call speed (issue 4): the fresh-lead pick (status 'new', not deleted, by priority then id)
-- reads one index that holds every column it filters on, so leads reserved by other agents, over
-- their attempt limit or in a closed zone are skipped inside the index without reading the table.
-- It replaces leads_fresh, which only the fresh picks (next call, plan fill) used.
CREATE INDEX leads_fresh_pick ON leads(priority DESC, id, status, owner_id, reserved_until, reserved_by, attempts, timezone, deleted_at)
    WHERE status = 'new' AND deleted_at IS NULL;
DROP INDEX leads_fresh;
