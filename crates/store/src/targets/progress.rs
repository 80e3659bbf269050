//! What a person or a team did over statistics days, from the records: calls, valid
//! conversations and qualified leads from `agent_daily_stats` (kept by `record_call` per
//! statistics day); new customers (customers that became theirs in the period: converted to
//! them or taken, by `owned_since`); confirmed orders and their totals (by `confirmed_at`,
//! the order's owner); collections (payments by `paid_at` on orders they own). A team's figures
//! are its current members'. Instants are compared with the UTC start of each statistics day.

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::targets::{self, Figures, METRICS, Month};
use leadline_domain::{TeamId, UserId, Viewer};
use serde::Serialize;

use super::{Subject, check_read, month_target};
use crate::{Db, Result, db_run};

/// The UTC instant a statistics day starts. Statistics days are those of `workday::stats_day`;
/// this is its inverse and lives with the sales module's, so there is one zone to move.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    crate::sales::day_start(day)
}

/// A statistics day as stored in `agent_daily_stats.day`.
pub fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The people a subject's figures are counted for, as SQL over `col` with the subject in `$3`.
fn people(subject: Subject, col: &str) -> String {
    match subject {
        Subject::User(_) => format!("{col} = $3"),
        Subject::Team(_) => format!("{col} IN (SELECT id FROM users WHERE team_id = $3)"),
    }
}

/// The figures done over the statistics days [from, to).
pub async fn done(db: &Db, subject: Subject, from: NaiveDate, to: NaiveDate) -> Result<Figures> {
    let (t0, t1) = (day_start(from), day_start(to));
    let id = subject.id();
    let calls_sql = format!(
        "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT), CAST(COALESCE(SUM(valid_conversations), 0) AS BIGINT), \
         CAST(COALESCE(SUM(qualified), 0) AS BIGINT) FROM agent_daily_stats \
         WHERE day >= $1 AND day < $2 AND {}",
        people(subject, "agent_id")
    );
    let (calls, valid_conversations, qualified): (i64, i64, i64) =
        db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(calls_sql))
            .bind(day_text(from))
            .bind(day_text(to))
            .bind(id)
            .fetch_one(pool)
            .await?);
    let customers_sql = format!(
        "SELECT COUNT(*) FROM customers WHERE deleted_at IS NULL AND owned_since >= $1 AND owned_since < $2 AND {}",
        people(subject, "owner_id")
    );
    let new_customers: i64 = db_run!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        customers_sql
    ))
    .bind(t0)
    .bind(t1)
    .bind(id)
    .fetch_one(pool)
    .await?);
    let orders_sql = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(total_fen), 0) AS BIGINT) FROM orders \
         WHERE status = 'confirmed' AND confirmed_at >= $1 AND confirmed_at < $2 AND {}",
        people(subject, "owner_id")
    );
    let (orders, revenue_fen): (i64, i64) =
        db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(orders_sql))
            .bind(t0)
            .bind(t1)
            .bind(id)
            .fetch_one(pool)
            .await?);
    let paid_sql = format!(
        "SELECT CAST(COALESCE(SUM(p.amount_fen), 0) AS BIGINT) FROM payments p JOIN orders o ON o.id = p.order_id \
         WHERE p.paid_at >= $1 AND p.paid_at < $2 AND {}",
        people(subject, "o.owner_id")
    );
    let collections_fen: i64 =
        db_run!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(paid_sql))
            .bind(t0)
            .bind(t1)
            .bind(id)
            .fetch_one(pool)
            .await?);
    Ok(Figures {
        calls,
        valid_conversations,
        qualified,
        new_customers,
        orders,
        revenue_fen,
        collections_fen,
    })
}

/// One metric's progress.
#[derive(Debug, Clone, Serialize)]
pub struct MetricProgress {
    pub metric: &'static str,
    pub target: i64,
    pub done: i64,
    /// Whole percent, rounded down; `None` without a target.
    pub percent: Option<i64>,
    /// The bar's width, 0–100.
    pub bar: i64,
}

/// A month's progress: target against done, metric by metric.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub subject: Subject,
    pub month: String,
    pub target: Figures,
    pub done: Figures,
    pub metrics: Vec<MetricProgress>,
}

impl Progress {
    /// Whether any target was set for the month.
    pub fn has_target(&self) -> bool {
        !self.target.is_empty()
    }

    /// The metrics that have a target (what a compact view shows).
    pub fn with_target(&self) -> Vec<&MetricProgress> {
        self.metrics.iter().filter(|m| m.target > 0).collect()
    }
}

/// The month's progress without an access check.
pub async fn month_unchecked(db: &Db, subject: Subject, month: Month) -> Result<Progress> {
    let target = month_target(db, subject, month).await?;
    let (from, to) = month.days();
    let done = done(db, subject, from, to).await?;
    let metrics = METRICS
        .iter()
        .map(|m| {
            let (t, d) = (target.get(m), done.get(m));
            MetricProgress {
                metric: m,
                target: t,
                done: d,
                percent: targets::percent(d, t),
                bar: targets::bar_width(d, t),
            }
        })
        .collect();
    Ok(Progress {
        subject,
        month: month.to_string(),
        target,
        done,
        metrics,
    })
}

/// The month's progress of a subject `viewer` may read.
pub async fn month(db: &Db, viewer: &Viewer, subject: Subject, month: Month) -> Result<Progress> {
    check_read(db, viewer, subject).await?;
    month_unchecked(db, subject, month).await
}

/// A person's progress for the month of `day` (what their own screens show).
pub async fn own(db: &Db, user: UserId, day: NaiveDate) -> Result<Progress> {
    month_unchecked(db, Subject::User(user), Month::of(day)).await
}

/// A team's progress for the month of `day`.
pub async fn team(db: &Db, team: TeamId, day: NaiveDate) -> Result<Progress> {
    month_unchecked(db, Subject::Team(team), Month::of(day)).await
}
