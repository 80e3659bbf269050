//! Protection from reclaim: a supervisor of the owner's team (or an admin) protects a record
//! until a date, within a cap of protected records per owner; a deal protects for good. Both
//! refresh the countdown in the same transaction.

use chrono::{DateTime, Duration, Utc};
use leadline_domain::ownership::{MAX_RECLAIM_DAYS, ReclaimRule};
use leadline_domain::{LeadId, Role, UserId, Viewer};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::{Tx, for_update};
use crate::ownership::countdown;
use crate::workday::config;
use crate::{Db, Result, StoreError, in_tx, leads};

/// The setting with the most records one owner may have protected at once.
pub const CAP_KEY: &str = "protection_cap_per_person";
pub const DEFAULT_CAP: i64 = 20;

/// What a request to protect a record came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protect {
    /// Protected until then; the record's new countdown.
    Done {
        until: DateTime<Utc>,
        reclaim_at: Option<DateTime<Utc>>,
    },
    /// The owner already has `cap` protected records.
    CapReached { cap: i64 },
}

/// The cap of protected records per owner (at least 0).
pub async fn cap(db: &Db) -> Result<i64> {
    Ok(config::int_setting(db, CAP_KEY, DEFAULT_CAP).await?.max(0))
}

/// Sets the cap (audited).
pub async fn set_cap(db: &Db, actor: UserId, cap: i64, now: DateTime<Utc>) -> Result<()> {
    if !(0..=100_000).contains(&cap) {
        return Err(StoreError::invalid(CAP_KEY, "out_of_range"));
    }
    in_tx!(db, |tx| super::set_setting_body(
        tx,
        CAP_KEY,
        json!(cap),
        actor,
        now
    ))?;
    config::invalidate();
    Ok(())
}

/// The owner of `lead`, once `viewer` may protect it: hidden → not found; not a supervisor of
/// the owner's team nor an admin → forbidden; no owner → invalid (`not_owned`).
async fn owner_for(db: &Db, viewer: &Viewer, lead: LeadId) -> Result<UserId> {
    let l = leads::get(db, viewer, lead).await?;
    let allowed = match viewer.role {
        Role::Admin => true,
        Role::Supervisor => l
            .owner_team_id
            .is_some_and(|t| viewer.supervised_teams.contains(&t)),
        Role::Agent | Role::Sales | Role::Finance => false,
    };
    if !allowed {
        return Err(StoreError::Forbidden);
    }
    l.owner_id
        .ok_or_else(|| StoreError::invalid("lead", "not_owned"))
}

/// Protects `lead` until `until` (later than now, at most ten years ahead) with a reason.
pub async fn protect(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    until: DateTime<Utc>,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Protect> {
    if until <= now || until > now + Duration::days(i64::from(MAX_RECLAIM_DAYS)) {
        return Err(StoreError::invalid("until", "out_of_range"));
    }
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(StoreError::invalid("reason", "too_long"));
    }
    let owner = owner_for(db, viewer, lead).await?;
    let cap = cap(db).await?;
    let rules = countdown::rules(db).await?;
    let actor = viewer.user_id;
    in_tx!(db, |tx| protect_body(
        tx, rules, lead, owner, actor, until, reason, cap, now
    ))
}

#[allow(
    clippy::too_many_arguments,
    reason = "one transaction body, its inputs owned"
)]
async fn protect_body(
    tx: &mut impl Tx,
    rules: Vec<ReclaimRule>,
    lead: LeadId,
    owner: UserId,
    actor: UserId,
    until: DateTime<Utc>,
    reason: Option<String>,
    cap: i64,
    now: DateTime<Utc>,
) -> Result<Protect> {
    // One owner's protections are counted one request at a time.
    let lock = format!("SELECT id FROM users WHERE id = $1{}", for_update(tx));
    tx.fetch_one(&lock, &[Arg::I64(owner.0)]).await?;
    let held = tx
        .fetch_one(
            "SELECT COUNT(*) FROM leads WHERE owner_id = $1 AND protected_until > $2 AND id <> $3",
            &[Arg::I64(owner.0), Arg::Time(now), Arg::I64(lead.0)],
        )
        .await?
        .i64(0)?;
    if held >= cap {
        return Ok(Protect::CapReached { cap });
    }
    let before = tx
        .fetch_optional(
            "SELECT protected_until FROM leads WHERE id = $1 AND owner_id = $2",
            &[Arg::I64(lead.0), Arg::I64(owner.0)],
        )
        .await?
        .ok_or(StoreError::NotFound)?
        .opt_time(0)?;
    tx.execute(
        "UPDATE leads SET protected_until = $2, protected_by = $3, version = version + 1, updated_at = $4 WHERE id = $1",
        &[Arg::I64(lead.0), Arg::Time(until), Arg::I64(actor.0), Arg::Time(now)],
    )
    .await?;
    let due = countdown::refresh(tx, &rules, lead).await?;
    let entry = AuditEntry {
        entity: "lead",
        entity_id: lead.0,
        actor: Some(actor),
        action: "protect",
        before: Some(json!({ "protected_until": before })),
        after: Some(json!({ "protected_until": until, "reason": reason })),
        at: now,
    };
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(Protect::Done {
        until,
        reclaim_at: due.map(|d| d.at),
    })
}

/// Removes the protection of `lead`; returns its new countdown.
pub async fn unprotect(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let owner = owner_for(db, viewer, lead).await?;
    let rules = countdown::rules(db).await?;
    let actor = viewer.user_id;
    in_tx!(db, |tx| unprotect_body(tx, rules, lead, owner, actor, now))
}

async fn unprotect_body(
    tx: &mut impl Tx,
    rules: Vec<ReclaimRule>,
    lead: LeadId,
    owner: UserId,
    actor: UserId,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let before = tx
        .fetch_optional(
            "SELECT protected_until FROM leads WHERE id = $1 AND owner_id = $2",
            &[Arg::I64(lead.0), Arg::I64(owner.0)],
        )
        .await?
        .ok_or(StoreError::NotFound)?
        .opt_time(0)?;
    tx.execute(
        "UPDATE leads SET protected_until = NULL, protected_by = NULL, version = version + 1, updated_at = $2 WHERE id = $1",
        &[Arg::I64(lead.0), Arg::Time(now)],
    )
    .await?;
    let due = countdown::refresh(tx, &rules, lead).await?;
    let entry = AuditEntry {
        entity: "lead",
        entity_id: lead.0,
        actor: Some(actor),
        action: "unprotect",
        before: Some(json!({ "protected_until": before })),
        after: Some(json!({ "protected_until": null })),
        at: now,
    };
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(due.map(|d| d.at))
}

/// Notes a deal on `lead` (its status became Converted) in the caller's transaction: the first
/// deal's moment is kept, and the countdown ends for good. The lead form's save does the same
/// in its own statement (leads/write.rs).
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "for the call path, when a disposition converts a lead (record.rs, another change)"
    )
)]
pub(crate) async fn mark_deal(
    tx: &mut impl Tx,
    rules: &[ReclaimRule],
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE leads SET deal_at = COALESCE(deal_at, $2) WHERE id = $1",
        &[Arg::I64(lead.0), Arg::Time(now)],
    )
    .await?;
    countdown::refresh(tx, rules, lead).await?;
    Ok(())
}
