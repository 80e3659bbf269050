//! The people around a record: backup owners (副负责人, [`backup`]), absences (请假,
//! [`absence`]), referrals and friends and family (亲朋好友, [`referral`]), hand-over to a sales
//! rep ([`handover`]), and reassignment one by one or in a batch ([`assign`]).
//!
//! Every change of owner goes through [`move_owner`]: the owner, an ownership event, an audit
//! entry and the refreshed countdown, in the caller's transaction.

pub mod absence;
pub mod assign;
pub mod backup;
pub mod handover;
pub mod referral;

pub use absence::{Absence, AbsenceInput, reminder_recipient};
pub use assign::{AssignOutcome, AssignTarget, Refused, assign};
pub use backup::{clear_backup, set_backup};
pub use handover::{Handover, HandoverDirection, handover, handovers};
pub use referral::{Referrer, set_personal, set_referral};

use chrono::{DateTime, Utc};
use leadline_domain::ownership::ReclaimRule;
use leadline_domain::{Holder, LeadId, Role, TeamId, UserId};
use serde_json::json;

use super::countdown;
use super::events::{self, Action, Event};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::{Tx, for_update};
use crate::{Result, StoreError};

/// What a change of owner reads of a lead, locked for the transaction (PostgreSQL).
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub holder: Holder,
    pub status: String,
    pub deleted: bool,
    pub referred_by: Option<LeadId>,
}

/// Reads (and on PostgreSQL locks) the facts of `lead`; `NotFound` when there is no such lead.
pub(crate) async fn held(tx: &mut impl Tx, lead: LeadId) -> Result<Held> {
    let sql = format!(
        "SELECT l.owner_id, (SELECT u.team_id FROM users u WHERE u.id = l.owner_id), l.backup_owner_id, \
         l.backup_may_edit, l.pool_id, l.status, l.deleted_at, l.referred_by FROM leads l WHERE l.id = $1{}",
        for_update(tx)
    );
    let row = tx
        .fetch_optional(&sql, &[Arg::I64(lead.0)])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Held {
        holder: Holder {
            owner: row.opt_i64(0)?.map(UserId),
            owner_team: row.opt_i64(1)?.map(TeamId),
            backup: row.opt_i64(2)?.map(UserId),
            backup_may_edit: row.bool(3)?,
            pool: row.opt_i64(4)?.map(leadline_domain::PoolId),
        },
        status: row.text(5)?,
        deleted: row.opt_time(6)?.is_some(),
        referred_by: row.opt_i64(7)?.map(LeadId),
    })
}

/// An active user's role and team; `None` when there is no such active user.
pub(crate) async fn person(
    tx: &mut impl Tx,
    user: UserId,
) -> Result<Option<(Role, Option<TeamId>)>> {
    let Some(row) = tx
        .fetch_optional(
            "SELECT role, team_id FROM users WHERE id = $1 AND active = $2",
            &[Arg::I64(user.0), Arg::Bool(true)],
        )
        .await?
    else {
        return Ok(None);
    };
    let role = row.text(0)?;
    let role = Role::parse(&role)
        .ok_or_else(|| StoreError::corrupt("users", user.0, format!("role {role:?}")))?;
    Ok(Some((role, row.opt_i64(1)?.map(TeamId))))
}

/// One change of owner.
#[derive(Debug, Clone)]
pub(crate) struct Move {
    pub lead: LeadId,
    pub from: Option<UserId>,
    pub to: UserId,
    pub action: Action,
    pub actor: UserId,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// Gives `m.lead` to `m.to`: the owner and since when (the countdown starts again), the backup
/// owner and the 亲朋好友 mark dropped (they were the former owner's arrangements), the version
/// bumped; the ownership event, the audit entry and the countdown, in the caller's transaction.
pub(crate) async fn move_owner(tx: &mut impl Tx, rules: &[ReclaimRule], m: &Move) -> Result<()> {
    tx.execute(
        "UPDATE leads SET owner_id = $2, owned_since = $3, backup_owner_id = NULL, backup_may_edit = $4, \
         personal = $4, warned_days = NULL, version = version + 1, updated_at = $3 WHERE id = $1",
        &[
            Arg::I64(m.lead.0),
            Arg::I64(m.to.0),
            Arg::Time(m.at),
            Arg::Bool(false),
        ],
    )
    .await?;
    events::record(
        tx,
        &Event {
            from: m.from,
            to: Some(m.to),
            actor: Some(m.actor),
            reason: m.reason.clone(),
            ..Event::new(m.lead, m.at, m.action)
        },
    )
    .await?;
    audit_lead(
        tx,
        m.lead,
        m.actor,
        m.action.code(),
        json!({ "owner_id": m.from }),
        json!({ "owner_id": m.to, "reason": m.reason }),
        m.at,
    )
    .await?;
    countdown::refresh(tx, rules, m.lead).await?;
    Ok(())
}

/// An audit entry on a lead, in the caller's transaction.
pub(crate) async fn audit_lead(
    tx: &mut impl Tx,
    lead: LeadId,
    actor: UserId,
    action: &'static str,
    before: serde_json::Value,
    after: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<()> {
    let entry = AuditEntry {
        entity: "lead",
        entity_id: lead.0,
        actor: Some(actor),
        action,
        before: Some(before),
        after: Some(after),
        at,
    };
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
