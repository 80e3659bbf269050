-- Ownership (归属), public pools (公海), reclaim rules (回收规则) and collision cases (撞单).
--
-- A lead with no owner sits in a pool: `pool_id`, or the default pool (公海, open to everyone)
-- when NULL. Every change of owner is a row of `ownership_events`, which is the record's
-- ownership history and the source of the pool statistics and of the claim limits (claims
-- today, the cool-down after a release or a reclaim).

CREATE TABLE pools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
-- The teams a named pool is open to (supervisors and admins see every pool).
CREATE TABLE pool_teams (
    pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    PRIMARY KEY (pool_id, team_id)
);
CREATE INDEX pool_teams_team ON pool_teams(team_id, pool_id);

ALTER TABLE leads ADD COLUMN pool_id INTEGER REFERENCES pools(id);
ALTER TABLE leads ADD COLUMN email TEXT;
-- domain::company_name::company_key of `company`: the 撞单 match by company name.
ALTER TABLE leads ADD COLUMN company_key TEXT;
-- 副负责人: sees the record, and edits it when `backup_may_edit`.
ALTER TABLE leads ADD COLUMN backup_owner_id INTEGER REFERENCES users(id);
ALTER TABLE leads ADD COLUMN backup_may_edit BOOLEAN NOT NULL DEFAULT FALSE;
-- When the present owner took the record; NULL on an owned record means its countdown has not
-- been computed yet (records owned before this migration: see ownership::backfill).
ALTER TABLE leads ADD COLUMN owned_since TEXT;
-- The last valid follow-up (a call whose disposition counts) and the last progress (a status
-- moving forward): the moments the reclaim countdowns start from.
ALTER TABLE leads ADD COLUMN last_valid_at TEXT;
ALTER TABLE leads ADD COLUMN last_progress_at TEXT;
-- A deal protects the record for good.
ALTER TABLE leads ADD COLUMN deal_at TEXT;
-- Protected by a supervisor until then.
ALTER TABLE leads ADD COLUMN protected_until TEXT;
ALTER TABLE leads ADD COLUMN protected_by INTEGER REFERENCES users(id);
-- When the record returns to its pool unless followed up, and the rule that sends it; NULL
-- when it never will (no owner, a deal, no rule).
ALTER TABLE leads ADD COLUMN reclaim_at TEXT;
ALTER TABLE leads ADD COLUMN reclaim_rule_id INTEGER;
-- The last warning sent for the present countdown, in days before (3, then 1).
ALTER TABLE leads ADD COLUMN warned_days INTEGER;
-- The existing customer who referred this one (老客户带来的新客户).
ALTER TABLE leads ADD COLUMN referred_by INTEGER REFERENCES leads(id);
-- The owner's own friends and family (亲朋好友): theirs, never reclaimed into a pool.
ALTER TABLE leads ADD COLUMN personal BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX leads_reclaim ON leads(reclaim_at) WHERE reclaim_at IS NOT NULL;
CREATE INDEX leads_company_key ON leads(company_key) WHERE company_key IS NOT NULL;
CREATE INDEX leads_email ON leads(email) WHERE email IS NOT NULL;
CREATE INDEX leads_backup ON leads(backup_owner_id) WHERE backup_owner_id IS NOT NULL;
CREATE INDEX leads_pool ON leads(pool_id, id) WHERE owner_id IS NULL;

-- Which dispositions count as a valid follow-up: one on a pool lead makes it the caller's, one
-- on an owned lead restarts its countdown. Out of the box, every connected one.
ALTER TABLE dispositions ADD COLUMN valid_follow_up BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE dispositions SET valid_follow_up = connected;

-- The ownership history. action: create | import | claim | release | reclaim | assign |
-- transfer | handover | referral | decision; reason: the release's reason or the decision's note.
CREATE TABLE ownership_events (
    id INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads(id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    from_user INTEGER REFERENCES users(id),
    to_user INTEGER REFERENCES users(id),
    actor_id INTEGER REFERENCES users(id),
    pool_id INTEGER REFERENCES pools(id),
    rule_id INTEGER,
    case_id INTEGER,
    reason TEXT
);
CREATE INDEX ownership_events_lead ON ownership_events(lead_id, id);
CREATE INDEX ownership_events_at ON ownership_events(at);
CREATE INDEX ownership_events_to ON ownership_events(to_user, action, at);
CREATE INDEX ownership_events_from ON ownership_events(lead_id, from_user, at);

-- Claim limits per role, or per team (a team's row wins); none: ClaimLimits::default().
CREATE TABLE claim_limits (
    id INTEGER PRIMARY KEY,
    role TEXT,
    team_id INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    per_day INTEGER,
    held_at_once INTEGER,
    cooldown_phone_minutes INTEGER NOT NULL DEFAULT 60,
    cooldown_company_minutes INTEGER NOT NULL DEFAULT 720
);

-- basis: no_valid_follow_up | no_progress | no_deal; a NULL scope field matches every record.
CREATE TABLE reclaim_rules (
    id INTEGER PRIMARY KEY,
    basis TEXT NOT NULL,
    days INTEGER NOT NULL,
    kind TEXT,
    intent TEXT,
    grade TEXT,
    source TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
INSERT INTO reclaim_rules (basis, days) VALUES ('no_valid_follow_up', 15);

-- Leave (请假): while away, a person's revisits and reminders go to the backup owner, else to
-- the team's supervisor.
CREATE TABLE absences (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    reason TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX absences_user ON absences(user_id, ends_at);

-- Base pay, the figure a collision penalty (a share of it) is taken from; exact, in 分.
ALTER TABLE users ADD COLUMN base_pay_fen INTEGER;

-- A collision is now a case. match_kind: phone | company | email, and `phone_e164` holds the
-- matched value (the number, the company key or the address). status: open | settled (by the
-- two) | decided (by a supervisor or leadership) | withdrawn.
ALTER TABLE collisions ADD COLUMN match_kind TEXT NOT NULL DEFAULT 'phone';
ALTER TABLE collisions ADD COLUMN escalated_at TEXT;
ALTER TABLE collisions ADD COLUMN appealed_at TEXT;
ALTER TABLE collisions ADD COLUMN appealed_by INTEGER REFERENCES users(id);
ALTER TABLE collisions ADD COLUMN proposed_winner_id INTEGER REFERENCES users(id);
ALTER TABLE collisions ADD COLUMN proposed_by INTEGER REFERENCES users(id);
ALTER TABLE collisions ADD COLUMN winner_id INTEGER REFERENCES users(id);
ALTER TABLE collisions ADD COLUMN decided_by INTEGER REFERENCES users(id);
ALTER TABLE collisions ADD COLUMN decided_at TEXT;
ALTER TABLE collisions ADD COLUMN decision_stage TEXT;
ALTER TABLE collisions ADD COLUMN decision_note TEXT;
CREATE INDEX collisions_status ON collisions(status, id);

-- What reports and assessment read of each decided case: one row per person.
-- outcome: won | lost; stage: parties | supervisor | leadership.
CREATE TABLE collision_ledger (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES collisions(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    against_user_id INTEGER REFERENCES users(id),
    outcome TEXT NOT NULL,
    stage TEXT NOT NULL,
    decided_by INTEGER REFERENCES users(id),
    penalty_bp INTEGER NOT NULL,
    penalty_fen INTEGER,
    at TEXT NOT NULL
);
CREATE INDEX collision_ledger_user ON collision_ledger(user_id, at);
