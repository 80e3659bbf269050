//! 撞单 at the agent's call: whether the lead about to be called (or just called) shares a phone,
//! company or e-mail with a record another person owns, and what the caller may be told of that
//! record — its owner, since when, its protection and its last calls, the evidence a case shows
//! to its parties; never the other record's name, id or notes.

use chrono::{DateTime, Utc};
use leadline_domain::{CaseId, LeadId, UserId, Viewer};
use serde::Serialize;

use crate::ownership::cases::CallBrief;
use crate::ownership::detect::{self, Match};
use crate::{Db, Result, db_run};

/// How many of the other record's calls the warning lists.
pub const LAST_CALLS: i64 = 3;

/// A record of someone else's that the lead collides with, as the caller may see it.
#[derive(Debug, Clone, Serialize)]
pub struct OwnedElsewhere {
    /// What matched: `phone`, `company` or `email`.
    pub match_kind: &'static str,
    pub owner_id: UserId,
    pub owner_name: String,
    pub owned_since: DateTime<Utc>,
    pub protected_until: Option<DateTime<Utc>>,
    /// Protected by a deal (never reclaimed).
    pub deal: bool,
    pub personal: bool,
    /// Its last calls, newest first: when, who, the disposition (no notes).
    pub last_calls: Vec<CallBrief>,
    /// The open case about the two records, when the viewer is one of its people.
    pub case_id: Option<CaseId>,
}

/// What the record-call answer says when a valid follow-up did not take a pool lead because a
/// colleague's record holds the same customer: who owns it, since when, and the case.
#[derive(Debug, Clone, Serialize)]
pub struct CallCollision {
    pub match_kind: &'static str,
    pub owner_id: UserId,
    pub owner_name: String,
    pub owned_since: DateTime<Utc>,
    pub case_id: Option<CaseId>,
}

#[derive(sqlx::FromRow)]
struct Facts {
    owner_name: String,
    owned_since: DateTime<Utc>,
    protected_until: Option<DateTime<Utc>>,
    deal_at: Option<DateTime<Utc>>,
    personal: bool,
}

const FACTS: &str = "SELECT u.display_name AS owner_name, COALESCE(l.owned_since, l.created_at) AS owned_since, \
    l.protected_until, l.deal_at, l.personal FROM leads l JOIN users u ON u.id = l.owner_id WHERE l.id = $1";
const LAST: &str = "SELECT c.started_at, u.display_name AS agent_name, c.disposition, \
    CAST(c.duration_s AS BIGINT) AS duration_s FROM calls c JOIN users u ON u.id = c.agent_id \
    WHERE c.lead_id = $1 ORDER BY c.started_at DESC, c.id DESC LIMIT $2";
const OPEN_CASE: &str = "SELECT id FROM collisions WHERE lead_id = $1 AND existing_lead_id = $2 \
    AND status = 'open' AND (recorded_by = $3 OR new_owner_id = $3 OR existing_owner_id = $3) \
    ORDER BY id DESC LIMIT 1";

async fn facts(db: &Db, m: &Match) -> Result<Option<Facts>> {
    Ok(db_run!(db, |pool| sqlx::query_as(FACTS)
        .bind(m.lead)
        .fetch_optional(pool)
        .await?))
}

async fn open_case_of(db: &Db, lead: LeadId, m: &Match, viewer: UserId) -> Result<Option<CaseId>> {
    Ok(db_run!(db, |pool| sqlx::query_scalar(OPEN_CASE)
        .bind(lead)
        .bind(m.lead)
        .bind(viewer)
        .fetch_optional(pool)
        .await?))
}

/// The warning before `viewer` calls `lead` (which the caller has checked they may see): the
/// first record of someone other than the viewer and the lead's own owner that shares its
/// phone, company or e-mail (`detect::first_match`), with its evidence. Writes nothing.
pub async fn before_call(db: &Db, viewer: &Viewer, lead: LeadId) -> Result<Option<OwnedElsewhere>> {
    let owner: Option<Option<UserId>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT owner_id FROM leads WHERE id = $1 AND deleted_at IS NULL"
    )
    .bind(lead)
    .fetch_optional(pool)
    .await?);
    let Some(owner) = owner else { return Ok(None) };
    let mut allowed = vec![viewer.user_id];
    allowed.extend(owner);
    let Some(m) = detect::first_match(db, lead, &allowed).await? else {
        return Ok(None);
    };
    let Some(f) = facts(db, &m).await? else {
        return Ok(None);
    };
    let last_calls: Vec<CallBrief> = db_run!(db, |pool| sqlx::query_as(LAST)
        .bind(m.lead)
        .bind(LAST_CALLS)
        .fetch_all(pool)
        .await?);
    Ok(Some(OwnedElsewhere {
        match_kind: m.kind.code(),
        owner_id: m.owner,
        owner_name: f.owner_name,
        owned_since: f.owned_since,
        protected_until: f.protected_until,
        deal: f.deal_at.is_some(),
        personal: f.personal,
        last_calls,
        case_id: open_case_of(db, lead, &m, viewer.user_id).await?,
    }))
}

/// Opens a case for `viewer` about `lead` against the record another person owns, if there is
/// one (once per pair of records); the case, or `None` when nothing collides.
pub async fn open_case(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<Option<CaseId>> {
    let Some(found) = before_call(db, viewer, lead).await? else {
        return Ok(None);
    };
    if found.case_id.is_some() {
        return Ok(found.case_id);
    }
    let owner: Option<Option<UserId>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT owner_id FROM leads WHERE id = $1"
    )
    .bind(lead)
    .fetch_optional(pool)
    .await?);
    let mut allowed = vec![viewer.user_id];
    allowed.extend(owner.flatten());
    let Some(m) = detect::collide(db, lead, viewer.user_id, &allowed, now).await? else {
        return Ok(None);
    };
    open_case_of(db, lead, &m, viewer.user_id).await
}

/// Whether a valid follow-up by `agent` on `lead` must leave it in the pool: the lead has no
/// owner and a record of someone else's holds the same customer. Writes nothing.
pub(crate) async fn blocking_claim(db: &Db, agent: UserId, lead: LeadId) -> Result<Option<Match>> {
    let pooled: Option<i64> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM leads WHERE id = $1 AND owner_id IS NULL AND deleted_at IS NULL"
    )
    .bind(lead)
    .fetch_optional(pool)
    .await?);
    if pooled.is_none() {
        return Ok(None);
    }
    detect::first_match(db, lead, &[agent]).await
}

/// After a call that was refused the lead: opens the case (once per pair of records) and says
/// who owns the customer.
pub(crate) async fn refused_claim(
    db: &Db,
    agent: UserId,
    lead: LeadId,
    m: &Match,
    now: DateTime<Utc>,
) -> Result<Option<CallCollision>> {
    detect::open_case(db, lead, m, agent, now).await?;
    let Some(f) = facts(db, m).await? else {
        return Ok(None);
    };
    Ok(Some(CallCollision {
        match_kind: m.kind.code(),
        owner_id: m.owner,
        owner_name: f.owner_name,
        owned_since: f.owned_since,
        case_id: open_case_of(db, lead, m, agent).await?,
    }))
}

#[cfg(test)]
#[path = "collision_tests.rs"]
mod tests;
