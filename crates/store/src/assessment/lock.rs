//! Reading months (locked snapshot or live), adjusting, locking and unlocking.

use chrono::{DateTime, Utc};
use leadline_domain::targets::Month;
use leadline_domain::{Role, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use super::{Assessment, LockInfo, compute};
use crate::audit::AuditEntry;
use crate::targets::{Subject, check_read, check_write};
use crate::{Db, Result, StoreError, db_run, write_audit};

/// The longest adjustment reason, in characters.
pub const MAX_REASON: usize = 500;
/// The largest adjustment either way: 1 000 000 元.
pub const MAX_ADJUSTMENT_FEN: i64 = 100_000_000;

/// A locked month's stored snapshot, if the month is locked.
async fn snapshot(db: &Db, user: UserId, month: Month) -> Result<Option<Assessment>> {
    let row: Option<(String, UserId, DateTime<Utc>)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT snapshot, locked_by, locked_at FROM assessment_locks WHERE user_id = $1 AND month = $2"
    )
    .bind(user)
    .bind(month.to_string())
    .fetch_optional(pool)
    .await?
    });
    let Some((text, locked_by, locked_at)) = row else {
        return Ok(None);
    };
    let mut a: Assessment = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        table: "assessment_locks",
        row: user.0,
        what: e.to_string(),
    })?;
    a.locked = Some(LockInfo {
        locked_by,
        locked_at,
    });
    Ok(Some(a))
}

/// A person's month without an access check: the snapshot when locked, else live figures.
pub async fn current(db: &Db, user: UserId, month: Month) -> Result<Assessment> {
    match snapshot(db, user, month).await? {
        Some(a) => Ok(a),
        None => compute::live(db, user, month).await,
    }
}

/// A person's month as `viewer` may read it (the person, their team's supervisors, admins).
pub async fn one(db: &Db, viewer: &Viewer, user: UserId, month: Month) -> Result<Assessment> {
    check_read(db, viewer, Subject::User(user)).await?;
    current(db, user, month).await
}

/// The people a month's table lists for `viewer`: admins everyone active who is not an admin
/// or finance; supervisors their teams' people; anyone else themselves. `team` narrows it (a
/// team the viewer may not read: not found).
async fn people(db: &Db, viewer: &Viewer, team: Option<TeamId>) -> Result<Vec<UserId>> {
    if let Some(t) = team {
        check_read(db, viewer, Subject::Team(t)).await?;
    }
    let rows: Vec<(UserId, Option<TeamId>)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT id, team_id FROM users WHERE active = TRUE AND role NOT IN ('admin', 'finance') \
         ORDER BY display_name, id"
    )
    .fetch_all(pool)
    .await?
    });
    Ok(rows
        .into_iter()
        .filter(|(id, t)| {
            let visible = match viewer.role {
                Role::Admin => true,
                Role::Supervisor => {
                    *id == viewer.user_id || t.is_some_and(|t| viewer.supervised_teams.contains(&t))
                }
                _ => *id == viewer.user_id,
            };
            visible && team.is_none_or(|want| *t == Some(want))
        })
        .map(|(id, _)| id)
        .collect())
}

/// A month's table: each person `viewer` may see (see [`people`]).
pub async fn month_table(
    db: &Db,
    viewer: &Viewer,
    month: Month,
    team: Option<TeamId>,
) -> Result<Vec<Assessment>> {
    let mut out = Vec::new();
    for u in people(db, viewer, team).await? {
        out.push(current(db, u, month).await?);
    }
    Ok(out)
}

/// Adds an adjustment to a person's month (a supervisor of their team or an admin), with a
/// reason; audited. A locked month: `Conflict("month_locked")`.
pub async fn adjust(
    db: &Db,
    viewer: &Viewer,
    user: UserId,
    month: Month,
    amount_fen: i64,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Assessment> {
    check_write(db, viewer, Subject::User(user)).await?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StoreError::invalid("reason", "required"));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(StoreError::invalid("reason", "too_long"));
    }
    if amount_fen == 0 || amount_fen.abs() > MAX_ADJUSTMENT_FEN {
        return Err(StoreError::invalid("amount_fen", "out_of_range"));
    }
    if snapshot(db, user, month).await?.is_some() {
        return Err(StoreError::Conflict("month_locked"));
    }
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO assessment_adjustments (user_id, month, amount_fen, reason, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user)
        .bind(month.to_string())
        .bind(amount_fen)
        .bind(reason)
        .bind(viewer.user_id)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "assessment_adjustment",
                entity_id: id,
                actor: Some(viewer.user_id),
                action: "create",
                before: None,
                after: Some(json!({ "user_id": user, "month": month.to_string(),
                    "amount_fen": amount_fen, "reason": reason })),
                at
            }
        )?;
        tx.commit().await?;
    });
    current(db, user, month).await
}

/// What a lock or unlock did.
#[derive(Debug, Clone, Serialize)]
pub struct LockResult {
    pub month: String,
    /// People whose month this call locked (or unlocked); already locked ones are left as they
    /// were.
    pub changed: Vec<UserId>,
}

/// Whether `viewer` may lock `team` (or, without a team, everyone they may: admins everyone,
/// supervisors their teams). Agents, reps and finance: forbidden; a supervisor naming another
/// team: forbidden.
fn lock_scope(viewer: &Viewer, team: Option<TeamId>) -> Result<()> {
    match (viewer.role, team) {
        (Role::Admin, _) => Ok(()),
        (Role::Supervisor, Some(t)) if viewer.supervised_teams.contains(&t) => Ok(()),
        (Role::Supervisor, None) if !viewer.supervised_teams.is_empty() => Ok(()),
        _ => Err(StoreError::Forbidden),
    }
}

/// Locks a month for a team's people (or all the viewer may lock): each person's figures as
/// they are now are stored and read from then on. Audited per person.
pub async fn lock_month(
    db: &Db,
    viewer: &Viewer,
    month: Month,
    team: Option<TeamId>,
    at: DateTime<Utc>,
) -> Result<LockResult> {
    lock_scope(viewer, team)?;
    let mut changed = Vec::new();
    for user in people(db, viewer, team).await? {
        if viewer.role == Role::Supervisor && user == viewer.user_id {
            continue; // a supervisor does not lock their own month
        }
        if snapshot(db, user, month).await?.is_some() {
            continue;
        }
        let a = compute::live(db, user, month).await?;
        let text = serde_json::to_string(&a).map_err(|e| StoreError::Internal(e.to_string()))?;
        let inserted = db_run!(db, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "INSERT INTO assessment_locks (user_id, month, snapshot, locked_by, locked_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, month) DO NOTHING",
            )
            .bind(user)
            .bind(month.to_string())
            .bind(&text)
            .bind(viewer.user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                write_audit!(
                    &mut *tx,
                    AuditEntry {
                        entity: "assessment",
                        entity_id: user.0,
                        actor: Some(viewer.user_id),
                        action: "lock",
                        before: None,
                        after: Some(
                            json!({ "month": month.to_string(), "total_fen": a.total_fen })
                        ),
                        at
                    }
                )?;
            }
            tx.commit().await?;
            n > 0
        });
        if inserted {
            changed.push(user);
        }
    }
    Ok(LockResult {
        month: month.to_string(),
        changed,
    })
}

/// Unlocks a month (admins only, with a reason) for one person, a team, or everyone locked in
/// it. Audited per person.
pub async fn unlock_month(
    db: &Db,
    viewer: &Viewer,
    month: Month,
    team: Option<TeamId>,
    user: Option<UserId>,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<LockResult> {
    if !viewer.role.is_admin() {
        return Err(StoreError::Forbidden);
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StoreError::invalid("reason", "required"));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(StoreError::invalid("reason", "too_long"));
    }
    let mut changed = Vec::new();
    let who: Vec<UserId> = match user {
        Some(u) => vec![u],
        None => people(db, viewer, team).await?,
    };
    for u in who {
        let removed = db_run!(db, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("DELETE FROM assessment_locks WHERE user_id = $1 AND month = $2")
                .bind(u)
                .bind(month.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                write_audit!(
                    &mut *tx,
                    AuditEntry {
                        entity: "assessment",
                        entity_id: u.0,
                        actor: Some(viewer.user_id),
                        action: "unlock",
                        before: None,
                        after: Some(json!({ "month": month.to_string(), "reason": reason })),
                        at
                    }
                )?;
            }
            tx.commit().await?;
            n > 0
        });
        if removed {
            changed.push(u);
        }
    }
    Ok(LockResult {
        month: month.to_string(),
        changed,
    })
}

/// A person's year (年度考核): the twelve months, each the locked snapshot where locked (its
/// `locked` set) and live figures otherwise, with the year's totals.
#[derive(Debug, Clone, Serialize)]
pub struct Year {
    pub user_id: UserId,
    pub year: i32,
    pub months: Vec<Assessment>,
    pub collected_fen: i64,
    pub commission_fen: i64,
    pub penalties_fen: i64,
    pub total_fen: i64,
    /// Months read from a locked snapshot.
    pub locked_months: usize,
}

/// A person's year as `viewer` may read it.
pub async fn year(db: &Db, viewer: &Viewer, user: UserId, year: i32) -> Result<Year> {
    if !leadline_domain::targets::valid_year(year) {
        return Err(StoreError::invalid("year", "out_of_range"));
    }
    check_read(db, viewer, Subject::User(user)).await?;
    let mut months = Vec::with_capacity(12);
    for m in 1..=12 {
        let month =
            Month::new(year, m).ok_or_else(|| StoreError::invalid("year", "out_of_range"))?;
        months.push(current(db, user, month).await?);
    }
    Ok(Year {
        user_id: user,
        year,
        collected_fen: months.iter().map(|a| a.collected_fen).sum(),
        commission_fen: months.iter().map(|a| a.bonus.commission_fen).sum(),
        penalties_fen: months.iter().map(|a| a.bonus.penalties_fen).sum(),
        total_fen: months.iter().map(|a| a.total_fen).sum(),
        locked_months: months.iter().filter(|a| a.locked.is_some()).count(),
        months,
    })
}
