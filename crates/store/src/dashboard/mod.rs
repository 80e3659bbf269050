//! The team dashboard (issue 24): calls per hour today against yesterday, today's totals
//! (connect rate, talk time), the funnel for today and the month, the leaderboard and the
//! team's month target progress, for one team (or, for an admin, everyone). The call figures
//! are read from the `call_stats` slots of the organisation's statistics days
//! ([`crate::call_stats::StatsDay`]); nothing here keeps a rollup of its own. The inbound
//! queues' answer speed (issue 27) is in [`answer_speed`].

pub mod answer_speed;

pub use answer_speed::{AnswerSpeed, THREE_RINGS_MS};

use chrono::{DateTime, Datelike, Timelike, Utc};
use leadline_domain::call_stats::{self as periods, SLOT_S};
use leadline_domain::targets::Month;
use leadline_domain::{Role, TeamId, UserId, Viewer};
use serde::Serialize;

use crate::call_stats::{self, Span, StatsDay};
use crate::targets::Subject;
use crate::targets::progress::{self, Progress};
use crate::{Db, Result, StoreError, db_run};

/// Whose dashboard: one team, or the whole floor (admins only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    Team(TeamId),
    All,
}

/// Which team `viewer` sees when asking for `team` (None: their default). Admins any team or
/// all; supervisors the teams they supervise (the first by default); agents and sales reps
/// their own team's board; finance nothing. A team outside that is Forbidden.
pub fn scope_for(viewer: &Viewer, own_team: Option<TeamId>, team: Option<TeamId>) -> Result<Scope> {
    match (viewer.role, team) {
        (Role::Admin, Some(t)) => Ok(Scope::Team(t)),
        (Role::Admin, None) => Ok(Scope::All),
        (Role::Supervisor, Some(t)) if viewer.supervised_teams.contains(&t) => Ok(Scope::Team(t)),
        (Role::Supervisor, None) => viewer
            .supervised_teams
            .first()
            .map(|t| Scope::Team(*t))
            .ok_or(StoreError::Forbidden),
        (Role::Agent | Role::Sales, t) => match own_team {
            Some(own) if t.is_none() || t == Some(own) => Ok(Scope::Team(own)),
            _ => Err(StoreError::Forbidden),
        },
        _ => Err(StoreError::Forbidden),
    }
}

/// Today's (or the month's) funnel: leads called → connected calls → qualified → new
/// customers → confirmed orders → paid orders (confirmed orders whose payments cover them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Funnel {
    pub leads: i64,
    pub connected: i64,
    pub qualified: i64,
    pub customers: i64,
    pub orders: i64,
    pub paid_orders: i64,
}

impl Funnel {
    /// The stages in order, with their i18n keys.
    pub fn stages(&self) -> [(&'static str, i64); 6] {
        [
            ("dash.leads", self.leads),
            ("dash.connected", self.connected),
            ("dash.qualified", self.qualified),
            ("dash.customers", self.customers),
            ("dash.orders", self.orders),
            ("dash.paid_orders", self.paid_orders),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LeaderRow {
    pub agent_id: UserId,
    pub name: String,
    pub calls: i64,
    pub connected: i64,
    pub qualified: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub team_id: Option<TeamId>,
    pub zone: String,
    pub day: String,
    /// Calls per local hour (0–23) of today and of yesterday.
    pub hours_today: Vec<i64>,
    pub hours_yesterday: Vec<i64>,
    pub calls: i64,
    pub connected: i64,
    pub qualified: i64,
    pub talk_s: i64,
    /// Connected calls per thousand calls today.
    pub connect_rate_permille: i64,
    pub funnel_today: Funnel,
    pub funnel_month: Funnel,
    pub leaderboard: Vec<LeaderRow>,
    /// The team's month target progress (none for the whole floor).
    pub progress: Option<Progress>,
    /// Today's answer speed of the inbound queues (the whole floor's), for those who may see
    /// it ([`sees_answer_speed`]); none for the others.
    pub answer_speed: Option<AnswerSpeed>,
}

/// Whether `viewer` sees the inbound queues' answer speed: admins and supervisors. Inbound
/// calls are not per team, so agents and sales reps (who see their own team's board) do not.
pub fn sees_answer_speed(viewer: &Viewer) -> bool {
    matches!(viewer.role, Role::Admin | Role::Supervisor)
}

/// The members of the scope, as SQL over `col` (ids are integers: nothing to inject).
fn members(scope: Scope, col: &str) -> String {
    match scope {
        Scope::Team(t) => format!("{col} IN (SELECT id FROM users WHERE team_id = {})", t.0),
        Scope::All => "1 = 1".into(),
    }
}

/// Calls per local hour of `day`, from its slots.
async fn hours(db: &Db, scope: Scope, day: &StatsDay) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT slot_start, CAST(SUM(calls) AS BIGINT) FROM call_stats \
         WHERE slot_start >= $1 AND slot_start < $2 AND {} GROUP BY slot_start",
        members(scope, "agent_id")
    );
    let rows: Vec<(i64, i64)> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(day.first)
        .bind(day.end)
        .fetch_all(pool)
        .await?);
    let mut out = vec![0; 24];
    for (slot, calls) in rows {
        let at = DateTime::from_timestamp(slot - slot % SLOT_S, 0).unwrap_or_default();
        let hour = at.with_timezone(&day.zone).hour() as usize;
        out[hour.min(23)] += calls;
    }
    Ok(out)
}

/// The funnel over the statistics days `[first, end)` (slots, seconds since 1970), whose
/// rollup rows are `span`.
async fn funnel(db: &Db, scope: Scope, first: i64, end: i64, span: Span) -> Result<Funnel> {
    let (t0, t1) = (
        DateTime::<Utc>::from_timestamp(first, 0).unwrap_or_default(),
        DateTime::<Utc>::from_timestamp(end, 0).unwrap_or_default(),
    );
    let calls_sql = format!(
        "SELECT CAST(COALESCE(SUM(s.connected), 0) AS BIGINT), CAST(COALESCE(SUM(s.qualified), 0) AS BIGINT) \
         FROM {} s WHERE {} AND {}",
        span.table,
        span.within(1, 2),
        members(scope, "s.agent_id")
    );
    let (connected, qualified): (i64, i64) =
        db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(calls_sql))
            .bind(span.first)
            .bind(span.end)
            .fetch_one(pool)
            .await?);
    let leads_sql = format!(
        "SELECT COUNT(DISTINCT lead_id) FROM calls WHERE started_at >= $1 AND started_at < $2 AND {}",
        members(scope, "agent_id")
    );
    let customers_sql = format!(
        "SELECT COUNT(*) FROM customers WHERE deleted_at IS NULL AND owned_since >= $1 AND owned_since < $2 AND {}",
        members(scope, "owner_id")
    );
    let orders_sql = format!(
        "SELECT COUNT(*) FROM orders o WHERE o.status = 'confirmed' AND o.confirmed_at >= $1 AND o.confirmed_at < $2 AND {}",
        members(scope, "o.owner_id")
    );
    let paid_sql = format!(
        "{orders_sql} AND o.total_fen <= (SELECT COALESCE(SUM(p.amount_fen), 0) FROM payments p WHERE p.order_id = o.id)"
    );
    let mut counts = [0i64; 4];
    for (i, sql) in [leads_sql, customers_sql, orders_sql, paid_sql]
        .into_iter()
        .enumerate()
    {
        counts[i] = db_run!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(t0)
            .bind(t1)
            .fetch_one(pool)
            .await?);
    }
    Ok(Funnel {
        leads: counts[0],
        connected,
        qualified,
        customers: counts[1],
        orders: counts[2],
        paid_orders: counts[3],
    })
}

/// The dashboard of `scope` at `now` (the caller checked the scope with [`scope_for`]), with
/// today's answer speed when `with_answer_speed` ([`sees_answer_speed`]).
pub async fn dashboard(
    db: &Db,
    scope: Scope,
    now: DateTime<Utc>,
    with_answer_speed: bool,
) -> Result<Dashboard> {
    let today = call_stats::today(db, now).await?;
    let zone = today.zone;
    let yesterday = StatsDay::on(today.date.pred_opt().unwrap_or(today.date), zone);
    let hours_today = hours(db, scope, &today).await?;
    let hours_yesterday = hours(db, scope, &yesterday).await?;
    // Today's and this month's sums from the coarsest rollup that answers them exactly.
    let days_zone = call_stats::days_zone(db).await?;
    let day = Span::of(today.date, today.date, zone, days_zone);
    let board_sql = format!(
        "SELECT u.id AS agent_id, u.display_name AS name, \
         CAST(COALESCE(SUM(s.calls), 0) AS BIGINT) AS calls, CAST(COALESCE(SUM(s.connected), 0) AS BIGINT) AS connected, \
         CAST(COALESCE(SUM(s.qualified), 0) AS BIGINT) AS qualified FROM users u \
         LEFT JOIN {} s ON s.agent_id = u.id AND {} \
         WHERE u.active = TRUE AND u.role IN ('agent', 'sales') AND {} \
         GROUP BY u.id, u.display_name ORDER BY calls DESC, connected DESC, u.display_name, u.id",
        day.table,
        day.within(1, 2),
        members(scope, "u.id")
    );
    let leaderboard: Vec<LeaderRow> =
        db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(board_sql))
            .bind(day.first)
            .bind(day.end)
            .fetch_all(pool)
            .await?);
    let totals_sql = format!(
        "SELECT CAST(COALESCE(SUM(s.calls), 0) AS BIGINT), CAST(COALESCE(SUM(s.connected), 0) AS BIGINT), \
         CAST(COALESCE(SUM(s.qualified), 0) AS BIGINT), CAST(COALESCE(SUM(s.talk_s), 0) AS BIGINT) \
         FROM {} s WHERE {} AND {}",
        day.table,
        day.within(1, 2),
        members(scope, "s.agent_id")
    );
    let (calls, connected, qualified, talk_s): (i64, i64, i64, i64) =
        db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(totals_sql))
            .bind(day.first)
            .bind(day.end)
            .fetch_one(pool)
            .await?);
    let month_first = today.date.with_day(1).unwrap_or(today.date);
    let (m0, _) = periods::slot_range(month_first, today.date, zone);
    let month = Span::of(month_first, today.date, zone, days_zone);
    let funnel_today = funnel(db, scope, today.first, today.end, day).await?;
    let funnel_month = funnel(db, scope, m0, today.end, month).await?;
    let progress = match scope {
        Scope::Team(t) => {
            Some(progress::month_unchecked(db, Subject::Team(t), Month::of(today.date)).await?)
        }
        Scope::All => None,
    };
    Ok(Dashboard {
        team_id: match scope {
            Scope::Team(t) => Some(t),
            Scope::All => None,
        },
        zone: zone.name().to_string(),
        day: today.label(),
        hours_today,
        hours_yesterday,
        calls,
        connected,
        qualified,
        talk_s,
        connect_rate_permille: periods::per_mille(connected, calls),
        funnel_today,
        funnel_month,
        leaderboard,
        progress,
        answer_speed: match with_answer_speed {
            true => Some(answer_speed::answer_speed(db, &today).await?),
            false => None,
        },
    })
}
