//! Claiming (领取) from a pool within the limits, releasing to a pool with a reason.
//!
//! A claim is one transaction: the claimant is locked first (PostgreSQL: an advisory lock on
//! the user id, so that two claims by one person cannot both pass the cap; SQLite's one writer
//! serialises every claim), then the lead (`FOR UPDATE`); the limits, the counts and the
//! cool-down are read inside it, so that 50 people claiming the same leads at once leave each
//! lead one owner and nobody past their cap.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use leadline_domain::call_stats as periods;
use leadline_domain::ownership::{
    ClaimCounts, ClaimLimits, ClaimRefusal, ClaimTarget, LimitSetting, RecordKind, check_claim,
    limits_for,
};
use leadline_domain::{Access, Holder, LeadId, PoolId, Role, TeamId, UserId, Viewer};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::ownership::countdown;
use crate::ownership::events::{self, Action, Event};
use crate::workday::config;
use crate::{Backend, Db, Result, StoreError, db_run, in_tx};

/// The longest reason a release keeps.
pub const MAX_REASON: usize = 500;

/// The start of the organisation's day that `now` falls in: midnight in its statistics zone
/// (`call_stats::org_zone`, the day `workday::record::stats_day` counts in), so that "claims
/// today" and the agent's day counters agree.
pub fn day_start(now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    periods::day_start(periods::stats_date(now, zone), zone)
}

const LOCK_CLAIMANT_PG: &str =
    "SELECT pg_advisory_xact_lock(22, CAST(MOD($1, 2147483647) AS INTEGER))";
const CLAIMANT: &str = "SELECT team_id FROM users WHERE id = $1";
const LEAD: &str = "SELECT l.owner_id, o.team_id, l.backup_owner_id, l.backup_may_edit, l.pool_id, l.company, \
    l.deleted_at, l.version, l.referred_by FROM leads l LEFT JOIN users o ON o.id = l.owner_id WHERE l.id = $1";
/// The active owner of a referring lead, and their name.
const REFERRER_OWNER: &str = "SELECT r.owner_id, u.display_name FROM leads r JOIN users u ON u.id = r.owner_id \
    WHERE r.id = $1 AND r.deleted_at IS NULL AND u.active = $2";
pub(crate) const LIMITS: &str = "SELECT id, role, team_id, per_day, held_at_once, cooldown_phone_minutes, \
    cooldown_company_minutes FROM claim_limits ORDER BY id";
pub(crate) const CLAIMED_SINCE: &str =
    "SELECT COUNT(*) FROM ownership_events WHERE to_user = $1 AND action = 'claim' AND at >= $2";
pub(crate) const HELD: &str =
    "SELECT COUNT(*) FROM leads WHERE owner_id = $1 AND deleted_at IS NULL";
const GAVE_UP: &str = "SELECT MAX(at) FROM ownership_events WHERE lead_id = $1 AND from_user = $2 \
    AND action IN ('release', 'reclaim')";
const LAST_ACTION: &str =
    "SELECT action FROM ownership_events WHERE lead_id = $1 ORDER BY id DESC LIMIT 1";
const TAKE: &str = "UPDATE leads SET owner_id = $2, owned_since = $3, reserved_by = NULL, reserved_until = NULL, \
    version = version + 1, updated_at = $3 WHERE id = $1";
const GIVE_BACK: &str = "UPDATE leads SET owner_id = NULL, pool_id = $2, owned_since = NULL, reclaim_at = NULL, \
    reclaim_rule_id = NULL, warned_days = NULL, reserved_by = NULL, reserved_until = NULL, \
    version = version + 1, updated_at = $3 WHERE id = $1";

/// The lead as the claim or release transaction locked it.
struct Locked {
    holder: Holder,
    kind: RecordKind,
    deleted: bool,
    version: i64,
    referred_by: Option<LeadId>,
}

async fn lock_lead(tx: &mut impl Tx, lead: LeadId) -> Result<Locked> {
    let sql = match tx.backend() {
        Backend::Sqlite => LEAD.to_string(),
        Backend::Postgres => format!("{LEAD} FOR UPDATE OF l"),
    };
    let row = tx
        .fetch_optional(&sql, &[Arg::I64(lead.0)])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Locked {
        holder: Holder {
            owner: row.opt_i64(0)?.map(UserId),
            owner_team: row.opt_i64(1)?.map(TeamId),
            backup: row.opt_i64(2)?.map(UserId),
            backup_may_edit: row.bool(3)?,
            pool: row.opt_i64(4)?.map(PoolId),
        },
        kind: RecordKind::of(row.opt_text(5)?.as_deref()),
        deleted: row.opt_time(6)?.is_some(),
        version: row.i64(7)?,
        referred_by: row.opt_i64(8)?.map(LeadId),
    })
}

/// The limit settings (`claim_limits`). Read before a claim's transaction: an admin's change
/// applies from the next claim.
pub async fn limit_settings(db: &Db) -> Result<Vec<LimitSetting>> {
    let rows: Vec<LimitRow> = db_run!(db, |pool| { sqlx::query_as(LIMITS).fetch_all(pool).await? });
    rows.into_iter().map(LimitRow::into_setting).collect()
}

/// One row of `claim_limits`.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct LimitRow {
    pub id: i64,
    pub role: Option<String>,
    pub team_id: Option<TeamId>,
    pub per_day: Option<i64>,
    pub held_at_once: Option<i64>,
    pub cooldown_phone_minutes: i64,
    pub cooldown_company_minutes: i64,
}

impl LimitRow {
    pub(crate) fn into_setting(self) -> Result<LimitSetting> {
        let role = self
            .role
            .as_deref()
            .map(|r| {
                Role::parse(r).ok_or_else(|| {
                    StoreError::corrupt("claim_limits", self.id, format!("role {r:?}"))
                })
            })
            .transpose()?;
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        Ok(LimitSetting {
            role,
            team: self.team_id,
            limits: ClaimLimits {
                per_day: self.per_day.map(count),
                held_at_once: self.held_at_once.map(count),
                cooldown_phone_minutes: count(self.cooldown_phone_minutes),
                cooldown_company_minutes: count(self.cooldown_company_minutes),
            },
        })
    }
}

/// What binds `user` now: their limits and what they have used of them.
pub(crate) async fn limits_and_counts(
    tx: &mut impl Tx,
    settings: &[LimitSetting],
    user: UserId,
    role: Role,
    team: Option<TeamId>,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<(ClaimLimits, ClaimCounts)> {
    let limits = limits_for(role, team, settings);
    let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    let today = match limits.per_day {
        Some(_) => count(
            tx.fetch_one(
                CLAIMED_SINCE,
                &[Arg::I64(user.0), Arg::Time(day_start(now, zone))],
            )
            .await?
            .i64(0)?,
        ),
        None => 0,
    };
    let held = match limits.held_at_once {
        Some(_) => count(tx.fetch_one(HELD, &[Arg::I64(user.0)]).await?.i64(0)?),
        None => 0,
    };
    Ok((limits, ClaimCounts { today, held }))
}

/// Takes `lead` from its pool for `viewer` (领取). Refusals: a lead the viewer may not see is
/// `NotFound`; someone else owning it, a cap reached or a cool-down is `ClaimRefused`. Claiming
/// a lead one owns already changes nothing.
///
/// A pool lead that names a referrer owned by an active person goes to that person whoever
/// claims it (老客户带来的新客户仍属于原销售人员; event `referral`, not counted against anyone's
/// limits); a claimant other than that person is told with `ClaimReferred` (409
/// `already_owned`, naming them). The 撞单 check is then the referrer's owner's business, not
/// the claimant's, so it is not run.
pub async fn claim(db: &Db, viewer: &Viewer, lead: LeadId, now: DateTime<Utc>) -> Result<()> {
    if !referred_to_owner(db, lead).await?
        && collision_on_claim(db, viewer, lead, now).await?.is_some()
    {
        return Err(StoreError::ClaimRefused(ClaimRefusal::AlreadyOwned));
    }
    let snap = config::snapshot(db).await?;
    let (rules, zone) = (snap.reclaim_rules.clone(), snap.org_zone);
    let settings = limit_settings(db).await?;
    let me = viewer.user_id;
    let viewer = viewer.clone();
    let outcome = in_tx!(db, |tx| claim_body(
        tx,
        viewer,
        rules,
        (settings, zone),
        lead,
        now
    ))?;
    match outcome {
        Some((owner, owner_name)) if owner != me => {
            Err(StoreError::ClaimReferred { owner, owner_name })
        }
        _ => Ok(()),
    }
}

/// Whether `lead` is in a pool and names a referrer an active person owns (the claim then
/// goes to them).
async fn referred_to_owner(db: &Db, lead: LeadId) -> Result<bool> {
    let hit: Option<i64> = db_run!(db, |pool| {
        sqlx::query_scalar(
            "SELECT r.id FROM leads l JOIN leads r ON r.id = l.referred_by JOIN users u ON u.id = r.owner_id \
             WHERE l.id = $1 AND l.owner_id IS NULL AND r.deleted_at IS NULL AND u.active = $2",
        )
        .bind(lead)
        .bind(true)
        .fetch_optional(pool)
        .await?
    });
    Ok(hit.is_some())
}

/// The claim's transaction; `Some((owner, name))` when the lead went to the owner of its
/// referrer instead of the claimant.
async fn claim_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    rules: Vec<leadline_domain::ownership::ReclaimRule>,
    (settings, zone): (Vec<LimitSetting>, Tz),
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<Option<(UserId, String)>> {
    let me = viewer.user_id;
    if tx.backend() == Backend::Postgres {
        tx.execute(LOCK_CLAIMANT_PG, &[Arg::I64(me.0)]).await?;
    }
    let team = tx
        .fetch_optional(CLAIMANT, &[Arg::I64(me.0)])
        .await?
        .ok_or(StoreError::NotFound)?
        .opt_i64(0)?
        .map(TeamId);
    let locked = lock_lead(tx, lead).await?;
    if locked.deleted {
        return Err(StoreError::NotFound);
    }
    if locked.holder.owner == Some(me) {
        return Ok(None);
    }
    if viewer.access(&locked.holder) == Access::Hidden {
        // Taken first by someone else from a pool open to the viewer: say so. Any other lead
        // the viewer may not see stays unknown.
        let home = Holder {
            pool: locked.holder.pool,
            ..Holder::default()
        };
        let claimed_from_pool = match tx.fetch_optional(LAST_ACTION, &[Arg::I64(lead.0)]).await? {
            Some(row) => row.text(0)? == Action::Claim.code(),
            None => false,
        };
        if locked.holder.owner.is_none()
            || !claimed_from_pool
            || viewer.access(&home) == Access::Hidden
        {
            return Err(StoreError::NotFound);
        }
        return Err(StoreError::ClaimRefused(ClaimRefusal::AlreadyOwned));
    }
    if locked.holder.owner.is_some() {
        return Err(StoreError::ClaimRefused(ClaimRefusal::AlreadyOwned));
    }
    if let Some(referrer) = locked.referred_by
        && let Some(row) = tx
            .fetch_optional(REFERRER_OWNER, &[Arg::I64(referrer.0), Arg::Bool(true)])
            .await?
    {
        let (to, name) = (UserId(row.i64(0)?), row.text(1)?);
        let step = crate::ownership::people::Move {
            lead,
            from: None,
            to,
            action: Action::Referral,
            actor: me,
            reason: Some(format!("referred_by {referrer}")),
            at: now,
        };
        crate::ownership::people::move_owner(tx, &rules, &step).await?;
        return Ok(Some((to, name)));
    }
    let (limits, counts) =
        limits_and_counts(tx, &settings, me, viewer.role, team, now, zone).await?;
    let released = tx
        .fetch_one(GAVE_UP, &[Arg::I64(lead.0), Arg::I64(me.0)])
        .await?
        .opt_time(0)?;
    let target = ClaimTarget {
        owner: None,
        kind: locked.kind,
        released_by_claimant_at: released,
    };
    check_claim(&limits, counts, &target, now).map_err(StoreError::ClaimRefused)?;
    tx.execute(TAKE, &[Arg::I64(lead.0), Arg::I64(me.0), Arg::Time(now)])
        .await?;
    events::record(
        tx,
        &Event {
            to: Some(me),
            actor: Some(me),
            pool: locked.holder.pool,
            ..Event::new(lead, now, Action::Claim)
        },
    )
    .await?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "lead",
            entity_id: lead.0,
            actor: Some(me),
            action: "claim",
            before: Some(
                json!({ "owner_id": null, "pool_id": locked.holder.pool, "version": locked.version }),
            ),
            after: Some(json!({ "owner_id": me, "version": locked.version + 1 })),
            at: now,
        }
        .args(),
    )
    .await?;
    countdown::refresh(tx, &rules, lead).await?;
    Ok(None)
}

/// Gives `lead` back to its home pool, or to `pool` when named (释放到公海), with a reason. Its
/// owner may, and a supervisor of the owner's team or an admin; others who may see it are
/// `Forbidden`, those who may not `NotFound`. A lead without an owner is `Conflict("not_owned")`.
pub async fn release(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    reason: &str,
    pool: Option<PoolId>,
    now: DateTime<Utc>,
) -> Result<()> {
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(StoreError::invalid("reason", "required"));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(StoreError::invalid("reason", "too_long"));
    }
    if let Some(p) = pool {
        let open = viewer.role.manages_leads() || viewer.pools.contains(&p);
        if !open || !super::pools::exists(db, p).await? {
            return Err(StoreError::invalid("pool_id", "unknown"));
        }
    }
    let viewer = viewer.clone();
    in_tx!(db, |tx| release_body(tx, viewer, lead, reason, pool, now))
}

async fn release_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    lead: LeadId,
    reason: String,
    pool: Option<PoolId>,
    now: DateTime<Utc>,
) -> Result<()> {
    let locked = lock_lead(tx, lead).await?;
    if locked.deleted || viewer.access(&locked.holder) == Access::Hidden {
        return Err(StoreError::NotFound);
    }
    let Some(owner) = locked.holder.owner else {
        return Err(StoreError::Conflict("not_owned"));
    };
    let may = owner == viewer.user_id
        || viewer.role == Role::Admin
        || (viewer.role == Role::Supervisor
            && locked
                .holder
                .owner_team
                .is_some_and(|t| viewer.supervised_teams.contains(&t)));
    if !may {
        return Err(StoreError::Forbidden);
    }
    let into = pool.or(locked.holder.pool);
    tx.execute(
        GIVE_BACK,
        &[
            Arg::I64(lead.0),
            Arg::OptI64(into.map(|p| p.0)),
            Arg::Time(now),
        ],
    )
    .await?;
    events::record(
        tx,
        &Event {
            from: Some(owner),
            actor: Some(viewer.user_id),
            pool: into,
            reason: Some(reason.clone()),
            ..Event::new(lead, now, Action::Release)
        },
    )
    .await?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "lead",
            entity_id: lead.0,
            actor: Some(viewer.user_id),
            action: "release",
            before: Some(json!({ "owner_id": owner, "version": locked.version })),
            after: Some(json!({ "owner_id": null, "pool_id": into, "reason": reason,
                "version": locked.version + 1 })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;

/// 撞单 on claim: a pool lead whose phone, company or e-mail a record of someone else's already
/// holds is not claimed (the other person owns that customer); a case is opened, once per pair of
/// records, so that the two or their supervisor settle it. `None` when the claim may go on (also
/// for a lead that is owned, deleted or hidden: the claim itself answers those).
pub async fn collision_on_claim(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<Option<crate::ownership::detect::Match>> {
    type Facts = (
        Option<UserId>,
        Option<leadline_domain::PoolId>,
        Option<DateTime<Utc>>,
    );
    let facts: Option<Facts> = crate::db_run!(db, |pool| {
        sqlx::query_as("SELECT owner_id, pool_id, deleted_at FROM leads WHERE id = $1")
            .bind(lead)
            .fetch_optional(pool)
            .await?
    });
    let Some((None, pool_id, None)) = facts else {
        return Ok(None);
    };
    let home = Holder {
        pool: pool_id,
        ..Holder::default()
    };
    if viewer.access(&home) == Access::Hidden {
        return Ok(None);
    }
    crate::ownership::detect::collide(db, lead, viewer.user_id, &[viewer.user_id], now).await
}
