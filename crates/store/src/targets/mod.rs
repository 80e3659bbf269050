//! Sales targets (销售定额, issue 24): per person and per team, per month, set a year at a time
//! by an admin or the supervisor of the team; read by the person, the team's members, their
//! supervisors and admins. Progress against them is in [`progress`].
//!
//! The workspace's daily call target (`agent_targets.daily_calls`) stays as it is: it sizes the
//! day's call plan and is set per agent on purpose; a month target does not rewrite it (editing a
//! year grid would otherwise silently change every plan's size). The month's progress is shown
//! beside it instead.

pub mod progress;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use leadline_domain::targets::{Figures, Month, valid_year};
use leadline_domain::{Role, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, write_audit};

/// Whose target: a person or a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", content = "id", rename_all = "snake_case")]
pub enum Subject {
    User(UserId),
    Team(TeamId),
}

impl Subject {
    pub fn scope(self) -> &'static str {
        match self {
            Subject::User(_) => "user",
            Subject::Team(_) => "team",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Subject::User(u) => u.0,
            Subject::Team(t) => t.0,
        }
    }
}

/// A year of targets: twelve months, January first.
#[derive(Debug, Clone, Serialize)]
pub struct YearTargets {
    pub subject: Subject,
    pub year: i32,
    pub months: Vec<MonthTarget>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthTarget {
    pub month: u32,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The team a subject belongs to (a person's team, or the team itself), and whether it exists.
async fn team_of(db: &Db, subject: Subject) -> Result<Option<TeamId>> {
    match subject {
        Subject::User(u) => Ok(crate::auth::users::get_user(db, u).await?.team_id),
        Subject::Team(t) => {
            let found: Option<i64> = db_run!(db, |pool| sqlx::query_scalar(
                "SELECT id FROM teams WHERE id = $1"
            )
            .bind(t.0)
            .fetch_optional(pool)
            .await?);
            found.ok_or(StoreError::NotFound).map(|_| Some(t))
        }
    }
}

/// Whether `viewer` may read the subject's targets and progress: the person, the team's
/// members, the team's supervisors and admins. Anyone else gets `NotFound`.
pub async fn check_read(db: &Db, viewer: &Viewer, subject: Subject) -> Result<()> {
    let team = team_of(db, subject).await?;
    if viewer.role == Role::Admin
        || subject == Subject::User(viewer.user_id)
        || team.is_some_and(|t| viewer.supervised_teams.contains(&t))
    {
        return Ok(());
    }
    if let Subject::Team(t) = subject {
        let me = crate::auth::users::get_user(db, viewer.user_id).await?;
        if me.team_id == Some(t) {
            return Ok(());
        }
    }
    Err(StoreError::NotFound)
}

/// Whether `viewer` may set the subject's targets: an admin, or a supervisor of the team.
/// Someone who may read them but not set them gets `Forbidden`.
pub async fn check_write(db: &Db, viewer: &Viewer, subject: Subject) -> Result<()> {
    check_read(db, viewer, subject).await?;
    let team = team_of(db, subject).await?;
    let allowed = match viewer.role {
        Role::Admin => true,
        Role::Supervisor => team.is_some_and(|t| viewer.supervised_teams.contains(&t)),
        Role::Agent | Role::Sales | Role::Finance => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    month: i64,
    calls: i64,
    valid_conversations: i64,
    qualified: i64,
    new_customers: i64,
    orders: i64,
    revenue_fen: i64,
    collections_fen: i64,
}

const SELECT: &str = "SELECT month, calls, valid_conversations, qualified, new_customers, orders, \
    revenue_fen, collections_fen FROM sales_targets WHERE scope = $1 AND subject_id = $2 AND year = $3";

/// The stored targets of a year (months never set are all zero), without an access check.
pub async fn year_unchecked(db: &Db, subject: Subject, year: i32) -> Result<YearTargets> {
    if !valid_year(year) {
        return Err(StoreError::invalid("year", "out_of_range"));
    }
    let rows: Vec<Row> = db_run!(db, |pool| sqlx::query_as(SELECT)
        .bind(subject.scope())
        .bind(subject.id())
        .bind(i64::from(year))
        .fetch_all(pool)
        .await?);
    let mut months: Vec<MonthTarget> = (1..=12)
        .map(|month| MonthTarget {
            month,
            figures: Figures::default(),
        })
        .collect();
    for r in rows {
        let slot = usize::try_from(r.month - 1)
            .ok()
            .and_then(|i| months.get_mut(i))
            .ok_or_else(|| StoreError::corrupt("sales_targets", r.month, "month"))?;
        slot.figures = Figures {
            calls: r.calls,
            valid_conversations: r.valid_conversations,
            qualified: r.qualified,
            new_customers: r.new_customers,
            orders: r.orders,
            revenue_fen: r.revenue_fen,
            collections_fen: r.collections_fen,
        };
    }
    Ok(YearTargets {
        subject,
        year,
        months,
    })
}

/// A year of targets as `viewer` may read them.
pub async fn year(db: &Db, viewer: &Viewer, subject: Subject, year: i32) -> Result<YearTargets> {
    check_read(db, viewer, subject).await?;
    year_unchecked(db, subject, year).await
}

/// One month's target (all zero when none was set).
pub async fn month_target(db: &Db, subject: Subject, month: Month) -> Result<Figures> {
    let y = year_unchecked(db, subject, month.year).await?;
    Ok(y.months
        .get(month.month as usize - 1)
        .map(|m| m.figures)
        .unwrap_or_default())
}

/// Sets a whole year at once: exactly twelve months, January first. Audited.
pub async fn set_year(
    db: &Db,
    viewer: &Viewer,
    subject: Subject,
    year: i32,
    months: &[Figures],
    now: DateTime<Utc>,
) -> Result<YearTargets> {
    check_write(db, viewer, subject).await?;
    if !valid_year(year) {
        return Err(StoreError::invalid("year", "out_of_range"));
    }
    if months.len() != 12 {
        return Err(StoreError::invalid("months", "twelve_months_required"));
    }
    for (i, m) in months.iter().enumerate() {
        if let Some((metric, code)) = m.problem() {
            return Err(StoreError::invalid(&format!("months[{i}].{metric}"), code));
        }
    }
    let before = year_unchecked(db, subject, year).await?;
    const UPSERT: &str = "INSERT INTO sales_targets (scope, subject_id, year, month, calls, valid_conversations, \
        qualified, new_customers, orders, revenue_fen, collections_fen, set_by, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
        ON CONFLICT (scope, subject_id, year, month) DO UPDATE SET calls = $5, valid_conversations = $6, \
        qualified = $7, new_customers = $8, orders = $9, revenue_fen = $10, collections_fen = $11, \
        set_by = $12, updated_at = $13";
    let after = json!(months);
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (i, m) in months.iter().enumerate() {
            sqlx::query(UPSERT)
                .bind(subject.scope())
                .bind(subject.id())
                .bind(i64::from(year))
                .bind(i as i64 + 1)
                .bind(m.calls)
                .bind(m.valid_conversations)
                .bind(m.qualified)
                .bind(m.new_customers)
                .bind(m.orders)
                .bind(m.revenue_fen)
                .bind(m.collections_fen)
                .bind(viewer.user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "sales_target",
                entity_id: subject.id(),
                actor: Some(viewer.user_id),
                action: "update",
                before: Some(json!({ "scope": subject.scope(), "year": year,
                    "months": before.months.iter().map(|m| m.figures).collect::<Vec<_>>() })),
                after: Some(json!({ "scope": subject.scope(), "year": year, "months": after })),
                at: now,
            }
        )?;
        tx.commit().await?;
    });
    year_unchecked(db, subject, year).await
}
