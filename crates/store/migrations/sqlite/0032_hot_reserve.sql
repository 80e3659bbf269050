-- The lead an agent holds, as PostgreSQL keeps it (see the PostgreSQL migration 0032: there a
-- reservation leaves every index of leads alone). SQLite updates only the indexes that name a
-- written column and finds a holder through leads_reserved, so it keeps its indexes and leaves
-- this table empty; the table exists on both so that both schemas hold the same tables.
CREATE TABLE lead_holds (
    agent_id INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL
);
