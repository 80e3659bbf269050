//! The daily work report (工作日报): the day's figures read from the records (calls, connects,
//! valid conversations, intent mix, qualified, visits, orders, collections), the person's
//! summary, problems and market information (customers' view of quality and price,
//! competitors), the supervisor's comments, the team's list of who has handed theirs in, and
//! the evening reminder to those who have not.
//!
//! A report is the person's own: they submit it for today or a past day. Submitting again
//! replaces it until a supervisor has commented; after that it is refused
//! (`report_commented`), so that a comment always answers the text it was written on.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use leadline_domain::targets::may_report;
use leadline_domain::{Role, TeamId, UserId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json;

use super::{Standing, standing, text};
use chrono_tz::Tz;

use crate::call_stats::{self, StatsDay};
use crate::targets::progress::{self, day_start, day_text};
use crate::targets::{Subject, progress::done};
use crate::workday::config::int_setting;
use crate::workday::today;
use crate::{Db, Result, StoreError, db_run};

/// The notification a person gets when their report is commented on.
pub const REPORT_COMMENTED: &str = "daily_report_commented";
/// The reminder to hand in the day's report.
pub const REPORT_DUE: &str = "daily_report_due";
/// The setting holding the hour (0–23, statistics-day time) the reminder goes out.
pub const REMINDER_HOUR_KEY: &str = "daily_report.reminder_hour";
pub const DEFAULT_REMINDER_HOUR: i64 = 18;

/// The day's figures, as the records have them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayFigures {
    pub calls: i64,
    pub connected: i64,
    pub valid_conversations: i64,
    pub qualified: i64,
    pub talk_s: i64,
    /// Calls by the intent level noted, e.g. `{"interested": 3}`.
    pub intent: BTreeMap<String, i64>,
    /// Visits done (拜访).
    pub visits: i64,
    pub new_customers: i64,
    pub orders: i64,
    pub revenue_fen: i64,
    pub collections_fen: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Comment {
    pub id: i64,
    pub author_id: UserId,
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A day's report: `status` is `draft` until submitted (the words are then empty).
#[derive(Debug, Clone, Serialize)]
pub struct DailyReport {
    pub id: Option<i64>,
    pub user_id: UserId,
    pub user_name: String,
    pub date: String,
    pub status: &'static str,
    pub summary: String,
    pub problems: String,
    pub market_info: String,
    pub version: i64,
    pub submitted_at: Option<DateTime<Utc>>,
    pub figures: DayFigures,
    pub comments: Vec<Comment>,
    /// Whether the person may still (re)submit it.
    pub may_submit: bool,
    /// What the day's visits noted about the market: the form offers it as market information.
    pub visit_market: Vec<VisitMarket>,
}

/// One visit's market notes (拜访 records: the customer's view of quality and price, other
/// brands, competitors' moves).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct VisitMarket {
    pub customer_name: String,
    pub quality_view: Option<String>,
    pub price_view: Option<String>,
    pub other_brands: Option<String>,
    pub competitor_moves: Option<String>,
}

/// The market notes of a person's visits done on a day, in order.
pub async fn visit_market(db: &Db, user: UserId, day: NaiveDate) -> Result<Vec<VisitMarket>> {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    let zone = crate::call_stats::org_zone(db).await?;
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT c.name AS customer_name, v.quality_view, v.price_view, v.other_brands, v.competitor_moves \
         FROM visits v JOIN customers c ON c.id = v.customer_id WHERE v.user_id = $1 AND v.status = 'done' \
         AND v.at >= $2 AND v.at < $3 AND (v.quality_view IS NOT NULL OR v.price_view IS NOT NULL \
         OR v.other_brands IS NOT NULL OR v.competitor_moves IS NOT NULL) ORDER BY v.at, v.id"
    )
    .bind(user)
    .bind(day_start(day, zone))
    .bind(day_start(next, zone))
    .fetch_all(pool)
    .await?
    }))
}

/// What the person writes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub problems: String,
    #[serde(default)]
    pub market_info: String,
}

/// A 'YYYY-MM-DD' date.
pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| leadline_domain::dates::in_range(*d))
        .ok_or_else(|| StoreError::invalid("date", "invalid_date"))
}

/// The statistics day `now` falls on, in the organisation's zone.
pub async fn today_of(db: &Db, now: DateTime<Utc>) -> Result<NaiveDate> {
    Ok(call_stats::today(db, now).await?.date)
}

/// The day's figures of one person.
pub async fn figures(db: &Db, user: UserId, day: NaiveDate) -> Result<DayFigures> {
    let zone = call_stats::org_zone(db).await?;
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    let (t0, t1) = (day_start(day, zone), day_start(next, zone));
    let s = today::stats(db, user, &StatsDay::on(day, zone)).await?;
    let d = done(db, Subject::User(user), day, next).await?;
    let intents: Vec<(String, i64)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT intent, COUNT(*) FROM calls WHERE agent_id = $1 AND started_at >= $2 AND started_at < $3 \
         AND intent IS NOT NULL GROUP BY intent ORDER BY intent"
    )
    .bind(user)
    .bind(t0)
    .bind(t1)
    .fetch_all(pool)
    .await?
    });
    let visits: i64 = db_run!(db, |pool| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM visits WHERE user_id = $1 AND status = 'done' AND at >= $2 AND at < $3"
    )
    .bind(user)
    .bind(t0)
    .bind(t1)
    .fetch_one(pool)
    .await?
    });
    Ok(DayFigures {
        calls: s.calls,
        connected: s.connected,
        valid_conversations: s.valid_conversations,
        qualified: s.qualified,
        talk_s: s.talk_s,
        intent: intents.into_iter().collect(),
        visits,
        new_customers: d.new_customers,
        orders: d.orders,
        revenue_fen: d.revenue_fen,
        collections_fen: d.collections_fen,
    })
}

#[derive(sqlx::FromRow)]
struct Stored {
    id: i64,
    summary: String,
    problems: String,
    market_info: String,
    version: i64,
    submitted_at: DateTime<Utc>,
}

async fn stored(db: &Db, user: UserId, day: &str) -> Result<Option<Stored>> {
    Ok(db_run!(db, |pool| sqlx::query_as(
        "SELECT id, summary, problems, market_info, version, submitted_at FROM daily_reports \
         WHERE user_id = $1 AND day = $2"
    )
    .bind(user)
    .bind(day)
    .fetch_optional(pool)
    .await?))
}

async fn comments(db: &Db, report: i64) -> Result<Vec<Comment>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT c.id, c.author_id, u.display_name AS author_name, c.body, c.created_at \
         FROM daily_report_comments c JOIN users u ON u.id = c.author_id WHERE c.report_id = $1 ORDER BY c.id"
    )
    .bind(report)
    .fetch_all(pool)
    .await?
    }))
}

/// A person's report for a day, as `viewer` may read it (`NotFound` for anyone but the
/// person, their team's supervisors and admins). `today` is the current statistics day.
pub async fn get(
    db: &Db,
    viewer: &Viewer,
    user: UserId,
    date: &str,
    today: NaiveDate,
) -> Result<DailyReport> {
    let day = parse_date(date)?;
    let (person, stand) = standing(db, viewer, user).await?;
    let date = day_text(day);
    let figures = figures(db, user, day).await?;
    let row = stored(db, user, &date).await?;
    let comments = match &row {
        Some(r) => comments(db, r.id).await?,
        None => Vec::new(),
    };
    let may_submit = stand == Standing::Own && may_report(day, today) && comments.is_empty();
    let visit_market = visit_market(db, user, day).await?;
    Ok(match row {
        Some(r) => DailyReport {
            id: Some(r.id),
            user_id: user,
            user_name: person.display_name,
            date,
            status: "submitted",
            summary: r.summary,
            problems: r.problems,
            market_info: r.market_info,
            version: r.version,
            submitted_at: Some(r.submitted_at),
            figures,
            comments,
            may_submit,
            visit_market,
        },
        None => DailyReport {
            id: None,
            user_id: user,
            user_name: person.display_name,
            date,
            status: "draft",
            summary: String::new(),
            problems: String::new(),
            market_info: String::new(),
            version: 0,
            submitted_at: None,
            figures,
            comments,
            may_submit,
            visit_market,
        },
    })
}

/// Submits (or, before any comment, replaces) the person's own report for `date`.
/// Refusals: someone else's report (403 to their supervisor, 404 to anyone else); a future
/// day (422 `date`: `future_day`); an empty summary (422); a commented report (409
/// `report_commented`).
pub async fn submit(
    db: &Db,
    viewer: &Viewer,
    user: UserId,
    date: &str,
    input: &ReportInput,
    now: DateTime<Utc>,
) -> Result<DailyReport> {
    let day = parse_date(date)?;
    let (_, stand) = standing(db, viewer, user).await?;
    if stand != Standing::Own {
        return Err(StoreError::Forbidden);
    }
    let today = today_of(db, now).await?;
    if !may_report(day, today) {
        return Err(StoreError::invalid("date", "future_day"));
    }
    let summary = text("summary", &input.summary, true)?;
    let problems = text("problems", &input.problems, false)?;
    let market_info = text("market_info", &input.market_info, false)?;
    let date = day_text(day);
    if let Some(r) = stored(db, user, &date).await?
        && !comments(db, r.id).await?.is_empty()
    {
        return Err(StoreError::Conflict("report_commented"));
    }
    // A comment written between the check and this statement is the only race; the upsert
    // refuses it in SQL too, by matching no row when a comment exists.
    const UPSERT: &str = "INSERT INTO daily_reports (user_id, day, summary, problems, market_info, version, submitted_at) \
        VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT (user_id, day) DO UPDATE SET summary = $3, \
        problems = $4, market_info = $5, version = daily_reports.version + 1, submitted_at = $6 \
        WHERE NOT EXISTS (SELECT 1 FROM daily_report_comments c WHERE c.report_id = daily_reports.id)";
    let n = db_run!(db, |pool| sqlx::query(UPSERT)
        .bind(user)
        .bind(&date)
        .bind(&summary)
        .bind(&problems)
        .bind(&market_info)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(StoreError::Conflict("report_commented"));
    }
    get(db, viewer, user, &date, today).await
}

/// A supervisor of the person's team (or an admin) comments on a submitted report; the person
/// is notified. The person themself may not (403); nor may anyone who cannot read it (404).
pub async fn comment(
    db: &Db,
    viewer: &Viewer,
    user: UserId,
    date: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Comment> {
    let day = parse_date(date)?;
    let (_, stand) = standing(db, viewer, user).await?;
    if stand != Standing::Supervises {
        return Err(StoreError::Forbidden);
    }
    let body = text("body", body, true)?;
    let zone = call_stats::org_zone(db).await?;
    let date = day_text(day);
    let report = stored(db, user, &date).await?.ok_or(StoreError::NotFound)?;
    let id: i64 = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO daily_report_comments (report_id, author_id, body, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(report.id)
        .bind(viewer.user_id)
        .bind(&body)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // `due_at` is the start of the report's day: the notice names the day and links to it.
        sqlx::query(
            "INSERT INTO notifications (user_id, kind, payload, due_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user)
        .bind(REPORT_COMMENTED)
        .bind(Json(json!({ "day": date, "report_id": report.id })))
        .bind(day_start(day, zone))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        crate::notify::announce(db, crate::notify::Change::notice(None));
        id
    });
    comments(db, report.id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(StoreError::NotFound)
}

/// One member of a team on a day: handed in or not.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TeamEntry {
    pub user_id: UserId,
    pub user_name: String,
    pub role: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub comments: i64,
    pub calls: i64,
}

impl TeamEntry {
    pub fn submitted(&self) -> bool {
        self.submitted_at.is_some()
    }
}

/// The people who report: active agents and sales reps.
const REPORTERS: &str = "u.active = TRUE AND u.role IN ('agent', 'sales')";

/// The team's reporters on `date`, those who have not submitted first, then by name. An admin
/// or a supervisor of the team; 403 for anyone else.
pub async fn team_day(
    db: &Db,
    viewer: &Viewer,
    team: TeamId,
    date: &str,
) -> Result<Vec<TeamEntry>> {
    let date = parse_date(date)?;
    let day = day_text(date);
    let slots = StatsDay::on(date, call_stats::org_zone(db).await?);
    let allowed = viewer.role == Role::Admin
        || (viewer.role == Role::Supervisor && viewer.supervised_teams.contains(&team));
    if !allowed {
        return Err(StoreError::Forbidden);
    }
    let sql = format!(
        "SELECT u.id AS user_id, u.display_name AS user_name, u.role, r.submitted_at, \
         (SELECT COUNT(*) FROM daily_report_comments c WHERE c.report_id = r.id) AS comments, \
         (SELECT CAST(COALESCE(SUM(s.calls), 0) AS BIGINT) FROM call_stats s \
          WHERE s.agent_id = u.id AND s.slot_start >= $3 AND s.slot_start < $4) AS calls FROM users u \
         LEFT JOIN daily_reports r ON r.user_id = u.id AND r.day = $2 \
         WHERE u.team_id = $1 AND {REPORTERS} \
         ORDER BY CASE WHEN r.id IS NULL THEN 0 ELSE 1 END, u.display_name, u.id"
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(team)
        .bind(&day)
        .bind(slots.first)
        .bind(slots.end)
        .fetch_all(pool)
        .await?))
}

/// The hour (0–23 of the statistics day) the reminder goes out.
pub async fn reminder_hour(db: &Db) -> Result<i64> {
    Ok(int_setting(db, REMINDER_HOUR_KEY, DEFAULT_REMINDER_HOUR)
        .await?
        .clamp(0, 23))
}

/// Whether, at `now`, the day's reminder is due: the statistics day (in the organisation's
/// `zone`) is past `hour`.
pub fn reminder_due(now: DateTime<Utc>, hour: i64, zone: Tz) -> bool {
    let start = day_start(StatsDay::of(now, zone).date, zone);
    (now - start).num_hours() >= hour
}

/// Reminds every active agent and sales rep who has not handed in today's report, once a day
/// each (however often it runs, on however many servers). Returns how many were reminded.
/// Does nothing before the configured hour.
pub async fn remind(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    let zone = call_stats::org_zone(db).await?;
    if !reminder_due(now, reminder_hour(db).await?, zone) {
        return Ok(0);
    }
    let today = StatsDay::of(now, zone).date;
    let day = day_text(today);
    let sql = format!(
        "INSERT INTO notifications (user_id, kind, payload, due_at, created_at) \
         SELECT u.id, $1, $2, $5, $3 FROM users u WHERE {REPORTERS} \
         AND NOT EXISTS (SELECT 1 FROM daily_reports r WHERE r.user_id = u.id AND r.day = $4) \
         AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = u.id AND n.kind = $1 \
             AND n.payload ->> 'day' = $4)"
    );
    let written = db_run!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(REPORT_DUE)
        .bind(Json(json!({ "day": day })))
        .bind(now)
        .bind(&day)
        .bind(day_start(today, zone))
        .execute(pool)
        .await?
        .rows_affected());
    if written > 0 {
        crate::notify::announce(db, crate::notify::Change::notice(None));
    }
    Ok(written)
}

/// A person's own month progress as of `now` (the compact bars on their screens).
pub async fn own_progress(db: &Db, user: UserId, now: DateTime<Utc>) -> Result<progress::Progress> {
    progress::own(db, user, today_of(db, now).await?).await
}
