//! Collision cases (撞单): opened with both sides' evidence, settled by the two, decided by a
//! supervisor or leadership, and the ledger of decisions.
//!
//! A case (a `collisions` row) has two sides: the lead that held the number, company or e-mail
//! first (`existing_lead_id`, the disputed record) and the lead entered or imported with it
//! (`lead_id`). Its parties are the two people: the disputed record's owner when the case was
//! opened and the new lead's owner. Who may see a case: its parties, whoever recorded it, the
//! supervisors of either party's team, admins; anyone else is told it does not exist. Inside a
//! case a lead's id and name are shown only to someone who may see that lead (the one
//! visibility rule); the evidence (owner, since when, protection, last calls) to all who may
//! see the case.

mod act;
mod ledger;
#[cfg(test)]
mod tests;

pub use act::{appeal, decide, escalate, settle};
pub use ledger::{LedgerFilter, LedgerRow, ledger, policy, set_policy};

use chrono::{DateTime, Utc};
use leadline_domain::ownership::{
    CaseStage, CollisionPolicy, case_stage, case_start, stage_deadline,
};
use leadline_domain::{Access, CaseId, Holder, LeadId, PoolId, Role, TeamId, UserId, Viewer};
use serde::Serialize;

use crate::{Db, Result, StoreError, db_run};

/// A case's status.
pub const OPEN: &str = "open";
pub const SETTLED: &str = "settled";
pub const DECIDED: &str = "decided";

/// A person on a case.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub id: UserId,
    pub name: String,
    pub team_id: Option<TeamId>,
}

/// A lead as the viewer may be told of it.
#[derive(Debug, Clone, Serialize)]
pub struct LeadRef {
    pub id: LeadId,
    pub name: String,
}

/// One of the last calls on a side's lead (no notes: they may speak of the customer).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CallBrief {
    pub started_at: DateTime<Utc>,
    pub agent_name: String,
    pub disposition: String,
    pub duration_s: i64,
}

/// One side of a case: the party, and the lead with its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The party (the person whose side this is).
    pub person: Option<Person>,
    /// The lead, only when the viewer may see it.
    pub lead: Option<LeadRef>,
    /// Who owns the lead now, and since when.
    pub owner: Option<Person>,
    pub owned_since: Option<DateTime<Utc>>,
    pub protected_until: Option<DateTime<Utc>>,
    pub deal_at: Option<DateTime<Utc>>,
    pub personal: bool,
    /// Withdrawn (soft-deleted) by the decision.
    pub withdrawn: bool,
    pub last_calls: Vec<CallBrief>,
}

/// What the viewer may do on a case now.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Allowed {
    pub settle: bool,
    pub escalate: bool,
    pub appeal: bool,
    pub decide: bool,
}

/// A case as one viewer may see it.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub id: CaseId,
    pub match_kind: String,
    /// The matched number, company key or e-mail address.
    pub matched: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub recorded_by: Person,
    /// The side that held it first (the disputed record) and the side that came second.
    pub existing: Side,
    pub new: Side,
    /// While open: who decides now, until when, and the penalty on each side a decision now
    /// carries (basis points of base pay).
    pub stage: Option<CaseStage>,
    pub stage_deadline: Option<DateTime<Utc>>,
    pub penalty_bp: Option<u32>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub appealed_at: Option<DateTime<Utc>>,
    pub appealed_by: Option<UserId>,
    pub proposed_winner_id: Option<UserId>,
    pub proposed_by: Option<UserId>,
    pub winner_id: Option<UserId>,
    pub decided_by: Option<Person>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_stage: Option<String>,
    pub decision_note: Option<String>,
    pub allowed: Allowed,
}

/// A case's row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseRow {
    pub id: CaseId,
    pub lead_id: LeadId,
    pub existing_lead_id: LeadId,
    pub phone_e164: String,
    pub match_kind: String,
    pub existing_owner_id: Option<UserId>,
    pub new_owner_id: Option<UserId>,
    pub recorded_by: UserId,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub appealed_at: Option<DateTime<Utc>>,
    pub appealed_by: Option<UserId>,
    pub proposed_winner_id: Option<UserId>,
    pub proposed_by: Option<UserId>,
    pub winner_id: Option<UserId>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_stage: Option<String>,
    pub decision_note: Option<String>,
}

pub(crate) const CASE_COLUMNS: &str = "c.id, c.lead_id, c.existing_lead_id, c.phone_e164, c.match_kind, \
    c.existing_owner_id, c.new_owner_id, c.recorded_by, c.status, c.created_at, c.escalated_at, c.appealed_at, \
    c.appealed_by, c.proposed_winner_id, c.proposed_by, c.winner_id, c.decided_by, c.decided_at, \
    c.decision_stage, c.decision_note";

impl CaseRow {
    /// The two people of the case (one when a side has no owner, or both are the same).
    pub(crate) fn parties(&self) -> Vec<UserId> {
        let mut out: Vec<UserId> = Vec::new();
        for p in [self.existing_owner_id, self.new_owner_id]
            .into_iter()
            .flatten()
        {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    pub(crate) fn is_party(&self, user: UserId) -> bool {
        self.parties().contains(&user)
    }

    /// The stage of the case at `now` if it is open.
    pub(crate) fn stage(&self, policy: &CollisionPolicy, now: DateTime<Utc>) -> Option<CaseStage> {
        (self.status == OPEN).then(|| {
            let start = case_start(policy, self.created_at, self.escalated_at);
            case_stage(policy, start, self.appealed_at.is_some(), now)
        })
    }
}

/// Who the viewer is to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    pub party: bool,
    /// Supervises the team of one of the parties.
    pub supervisor: bool,
    pub admin: bool,
    pub recorder: bool,
}

impl Standing {
    pub(crate) fn of(viewer: &Viewer, case: &CaseRow, party_teams: &[TeamId]) -> Standing {
        Standing {
            party: case.is_party(viewer.user_id),
            supervisor: viewer.role == Role::Supervisor
                && party_teams
                    .iter()
                    .any(|t| viewer.supervised_teams.contains(t)),
            admin: viewer.role.is_admin(),
            recorder: case.recorded_by == viewer.user_id,
        }
    }

    pub(crate) fn sees(self) -> bool {
        self.party || self.supervisor || self.admin || self.recorder
    }
}

/// What a viewer may do on a case at `now`.
pub(crate) fn allowed(
    case: &CaseRow,
    standing: Standing,
    viewer: UserId,
    policy: &CollisionPolicy,
    now: DateTime<Utc>,
) -> Allowed {
    let stage = case.stage(policy, now);
    let appeal = case.status == DECIDED
        && case.decision_stage.as_deref() == Some(CaseStage::Supervisor.code())
        && standing.party
        && case.winner_id != Some(viewer)
        && case
            .decided_at
            .is_some_and(|d| leadline_domain::ownership::may_appeal(policy, d, now));
    Allowed {
        settle: standing.party && stage == Some(CaseStage::Parties),
        escalate: standing.party && stage == Some(CaseStage::Parties),
        appeal,
        decide: match stage {
            None => false,
            Some(_) if standing.admin => true,
            Some(CaseStage::Supervisor) => standing.supervisor,
            Some(_) => false,
        },
    }
}

async fn case_row(db: &Db, id: CaseId) -> Result<Option<CaseRow>> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM collisions c WHERE c.id = $1");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

async fn person(db: &Db, id: Option<UserId>) -> Result<Option<Person>> {
    let Some(id) = id else { return Ok(None) };
    let row: Option<(String, Option<TeamId>)> = db_run!(db, |pool| sqlx::query_as(
        "SELECT display_name, team_id FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?);
    Ok(row.map(|(name, team_id)| Person { id, name, team_id }))
}

/// The teams of a case's parties.
pub(crate) async fn party_teams(db: &Db, case: &CaseRow) -> Result<Vec<TeamId>> {
    let mut teams = Vec::new();
    for p in case.parties() {
        if let Some(t) = person(db, Some(p)).await?.and_then(|p| p.team_id) {
            teams.push(t);
        }
    }
    Ok(teams)
}

#[derive(sqlx::FromRow)]
struct LeadFacts {
    name: String,
    owner_id: Option<UserId>,
    owner_team: Option<TeamId>,
    backup_owner_id: Option<UserId>,
    backup_may_edit: bool,
    pool_id: Option<PoolId>,
    owned_since: Option<DateTime<Utc>>,
    protected_until: Option<DateTime<Utc>>,
    deal_at: Option<DateTime<Utc>>,
    personal: bool,
    deleted_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

async fn side(db: &Db, viewer: &Viewer, lead: LeadId, party: Option<UserId>) -> Result<Side> {
    let facts: Option<LeadFacts> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT l.name, l.owner_id, u.team_id AS owner_team, l.backup_owner_id, l.backup_may_edit, l.pool_id, \
         l.owned_since, l.protected_until, l.deal_at, l.personal, l.deleted_at, l.created_at \
         FROM leads l LEFT JOIN users u ON u.id = l.owner_id WHERE l.id = $1"
    )
    .bind(lead)
    .fetch_optional(pool)
    .await?
    });
    let facts = facts.ok_or_else(|| StoreError::Internal(format!("case lead {lead} missing")))?;
    let holder = Holder {
        owner: facts.owner_id,
        owner_team: facts.owner_team,
        backup: facts.backup_owner_id,
        backup_may_edit: facts.backup_may_edit,
        pool: facts.pool_id,
    };
    let visible = facts.deleted_at.is_none() && viewer.access(&holder) != Access::Hidden;
    let last_calls: Vec<CallBrief> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT c.started_at, u.display_name AS agent_name, c.disposition, CAST(c.duration_s AS BIGINT) AS duration_s \
         FROM calls c JOIN users u ON u.id = c.agent_id WHERE c.lead_id = $1 ORDER BY c.started_at DESC, c.id DESC LIMIT 3"
    )
    .bind(lead)
    .fetch_all(pool)
    .await?
    });
    Ok(Side {
        person: person(db, party).await?,
        lead: visible.then(|| LeadRef {
            id: lead,
            name: facts.name.clone(),
        }),
        owner: person(db, facts.owner_id).await?,
        // A record entered before its start was tracked: owned since it was made.
        owned_since: facts
            .owner_id
            .and(facts.owned_since.or(Some(facts.created_at))),
        protected_until: facts.protected_until,
        deal_at: facts.deal_at,
        personal: facts.personal,
        withdrawn: facts.deleted_at.is_some(),
        last_calls,
    })
}

async fn view(
    db: &Db,
    viewer: &Viewer,
    row: CaseRow,
    standing: Standing,
    policy: &CollisionPolicy,
    now: DateTime<Utc>,
) -> Result<Case> {
    let stage = row.stage(policy, now);
    let start = case_start(policy, row.created_at, row.escalated_at);
    let recorded_by = person(db, Some(row.recorded_by))
        .await?
        .ok_or_else(|| StoreError::Internal(format!("case {} recorder missing", row.id)))?;
    Ok(Case {
        id: row.id,
        match_kind: row.match_kind.clone(),
        matched: row.phone_e164.clone(),
        status: row.status.clone(),
        created_at: row.created_at,
        recorded_by,
        existing: side(db, viewer, row.existing_lead_id, row.existing_owner_id).await?,
        new: side(db, viewer, row.lead_id, row.new_owner_id).await?,
        stage,
        stage_deadline: stage.and_then(|s| stage_deadline(policy, start, s)),
        penalty_bp: stage.map(|s| match s {
            // A decision by someone else than the two is never a settlement.
            CaseStage::Parties if standing.admin => CaseStage::Supervisor.penalty_bp(policy),
            s => s.penalty_bp(policy),
        }),
        escalated_at: row.escalated_at,
        appealed_at: row.appealed_at,
        appealed_by: row.appealed_by,
        proposed_winner_id: row.proposed_winner_id,
        proposed_by: row.proposed_by,
        winner_id: row.winner_id,
        decided_by: person(db, row.decided_by).await?,
        decided_at: row.decided_at,
        decision_stage: row.decision_stage.clone(),
        decision_note: row.decision_note.clone(),
        allowed: allowed(&row, standing, viewer.user_id, policy, now),
    })
}

/// One case as `viewer` may see it; `NotFound` when it does not exist or is not theirs to see.
pub async fn get(db: &Db, viewer: &Viewer, id: CaseId, now: DateTime<Utc>) -> Result<Case> {
    let row = case_row(db, id).await?.ok_or(StoreError::NotFound)?;
    let standing = Standing::of(viewer, &row, &party_teams(db, &row).await?);
    if !standing.sees() {
        return Err(StoreError::NotFound);
    }
    let policy = policy(db).await?;
    view(db, viewer, row, standing, &policy, now).await
}

/// Which cases to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    Settled,
    Decided,
    All,
}

impl StatusFilter {
    pub fn parse(s: &str) -> Option<StatusFilter> {
        match s {
            "open" => Some(StatusFilter::Open),
            "settled" => Some(StatusFilter::Settled),
            "decided" => Some(StatusFilter::Decided),
            "all" => Some(StatusFilter::All),
            _ => None,
        }
    }

    fn code(self) -> Option<&'static str> {
        match self {
            StatusFilter::Open => Some(OPEN),
            StatusFilter::Settled => Some(SETTLED),
            StatusFilter::Decided => Some(DECIDED),
            StatusFilter::All => None,
        }
    }
}

/// The most cases one list returns, newest first.
pub const LIST_LIMIT: i64 = 200;

/// The cases `viewer` may see with this status (`mine`: only those they are a party to or
/// recorded), newest first.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    status: StatusFilter,
    mine: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Case>> {
    let me = viewer.user_id.0;
    let teams: Vec<String> = viewer
        .supervised_teams
        .iter()
        .map(|t| t.0.to_string())
        .collect();
    let mut scope =
        format!("(c.existing_owner_id = {me} OR c.new_owner_id = {me} OR c.recorded_by = {me}");
    if !mine && viewer.role == Role::Supervisor && !teams.is_empty() {
        let list = teams.join(",");
        scope.push_str(&format!(
            " OR eu.team_id IN ({list}) OR nu.team_id IN ({list})"
        ));
    }
    scope.push(')');
    if !mine && viewer.role.is_admin() {
        scope = "TRUE".to_string();
    }
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM collisions c LEFT JOIN users eu ON eu.id = c.existing_owner_id \
         LEFT JOIN users nu ON nu.id = c.new_owner_id WHERE {scope}{status} ORDER BY c.id DESC LIMIT {LIST_LIMIT}",
        status = status
            .code()
            .map(|s| format!(" AND c.status = '{s}'"))
            .unwrap_or_default()
    );
    let rows: Vec<CaseRow> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?);
    let policy = policy(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let standing = Standing::of(viewer, &row, &party_teams(db, &row).await?);
        if standing.sees() {
            out.push(view(db, viewer, row, standing, &policy, now).await?);
        }
    }
    Ok(out)
}

/// The case a lead was entered as (the case whose second side it is), if the viewer may see it:
/// where the entry screen sends its author after 提交撞单.
pub async fn opened_by(db: &Db, viewer: &Viewer, lead: LeadId) -> Result<Option<CaseId>> {
    let id: Option<CaseId> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM collisions WHERE lead_id = $1 ORDER BY id DESC LIMIT 1"
    )
    .bind(lead)
    .fetch_optional(pool)
    .await?);
    let Some(id) = id else { return Ok(None) };
    let Some(row) = case_row(db, id).await? else {
        return Ok(None);
    };
    let standing = Standing::of(viewer, &row, &party_teams(db, &row).await?);
    Ok(standing.sees().then_some(id))
}
