//! The ownership history: one row per change of owner, written in the transaction that makes
//! the change. It is what the record's history shows, what the pool statistics count, and what
//! the claim limits read (claims today, a former owner's cool-down).

use chrono::{DateTime, Utc};
use leadline_domain::{CaseId, LeadId, PoolId, UserId};
use serde::Serialize;

use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, db_run};

/// What moved a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Entered by hand.
    Create,
    /// Brought in by an import.
    Import,
    /// Taken from a pool (领取), or by a valid follow-up on a pool lead.
    Claim,
    /// Given back to a pool with a reason.
    Release,
    /// Returned to its pool by a reclaim rule.
    Reclaim,
    /// Given to someone by a supervisor (分配), one by one or in a batch.
    Assign,
    /// Moved from one owner to another by a supervisor (转移).
    Transfer,
    /// Handed by an agent to a sales rep.
    Handover,
    /// Went to the owner of the customer who referred it.
    Referral,
    /// Moved by the decision of a collision case.
    Decision,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Import => "import",
            Action::Claim => "claim",
            Action::Release => "release",
            Action::Reclaim => "reclaim",
            Action::Assign => "assign",
            Action::Transfer => "transfer",
            Action::Handover => "handover",
            Action::Referral => "referral",
            Action::Decision => "decision",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        [
            Action::Create,
            Action::Import,
            Action::Claim,
            Action::Release,
            Action::Reclaim,
            Action::Assign,
            Action::Transfer,
            Action::Handover,
            Action::Referral,
            Action::Decision,
        ]
        .into_iter()
        .find(|a| a.code() == s)
    }
}

/// One change of owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub lead: LeadId,
    pub at: DateTime<Utc>,
    pub action: Action,
    pub from: Option<UserId>,
    pub to: Option<UserId>,
    /// Who did it (`None`: the system, e.g. the reclaim job).
    pub actor: Option<UserId>,
    /// The pool it went into or came out of.
    pub pool: Option<PoolId>,
    /// The reclaim rule that fired.
    pub rule: Option<i64>,
    pub case: Option<CaseId>,
    pub reason: Option<String>,
}

impl Event {
    /// An event with nothing but its lead, moment and action; fill the rest with struct update.
    pub fn new(lead: LeadId, at: DateTime<Utc>, action: Action) -> Event {
        Event {
            lead,
            at,
            action,
            from: None,
            to: None,
            actor: None,
            pool: None,
            rule: None,
            case: None,
            reason: None,
        }
    }

    /// The arguments of [`INSERT`], in order.
    pub(crate) fn args(&self) -> Vec<Arg> {
        vec![
            Arg::I64(self.lead.0),
            Arg::Time(self.at),
            Arg::Text(self.action.code().to_string()),
            Arg::OptI64(self.from.map(|u| u.0)),
            Arg::OptI64(self.to.map(|u| u.0)),
            Arg::OptI64(self.actor.map(|u| u.0)),
            Arg::OptI64(self.pool.map(|p| p.0)),
            Arg::OptI64(self.rule),
            Arg::OptI64(self.case.map(|c| c.0)),
            Arg::OptText(self.reason.clone()),
        ]
    }
}

pub(crate) const INSERT: &str = "INSERT INTO ownership_events (lead_id, at, action, from_user, to_user, actor_id, pool_id, rule_id, case_id, reason) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Writes `event` in the caller's transaction.
pub(crate) async fn record(tx: &mut impl Tx, event: &Event) -> Result<()> {
    tx.execute(INSERT, &event.args()).await?;
    Ok(())
}

/// One row of a record's ownership history, with names for the page.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub from_user: Option<UserId>,
    pub from_name: Option<String>,
    pub to_user: Option<UserId>,
    pub to_name: Option<String>,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub pool_id: Option<PoolId>,
    pub rule_id: Option<i64>,
    pub case_id: Option<CaseId>,
    pub reason: Option<String>,
}

/// A record's ownership history, oldest first. The caller has checked that the viewer may see
/// the record.
pub async fn history(db: &Db, lead: LeadId) -> Result<Vec<HistoryRow>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT e.id, e.at, e.action, e.from_user, f.display_name AS from_name, e.to_user, \
             t.display_name AS to_name, e.actor_id, a.display_name AS actor_name, e.pool_id, e.rule_id, \
             e.case_id, e.reason FROM ownership_events e \
             LEFT JOIN users f ON f.id = e.from_user LEFT JOIN users t ON t.id = e.to_user \
             LEFT JOIN users a ON a.id = e.actor_id WHERE e.lead_id = $1 ORDER BY e.id",
        )
        .bind(lead)
        .fetch_all(pool)
        .await?
    }))
}
