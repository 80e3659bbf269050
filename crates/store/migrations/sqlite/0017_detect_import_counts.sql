-- Several contacts of one company (issue 22): what an import did with rows whose company (or
-- e-mail) another person's record already has. joined: created and given to that company's
-- owner; cases: created and a collision case (撞单, match_kind company or email) opened.
ALTER TABLE imports ADD COLUMN joined INTEGER NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN cases INTEGER NOT NULL DEFAULT 0;
