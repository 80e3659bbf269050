//! Reminder calls (催缴, issue 27): an instalment past its due date and still open gets one series
//! of automatic calls to its customer's primary number, in which the amount and the due date are
//! spoken and key 1 reaches the rep who owns the order.
//!
//! The rules hold here, with the clock as an argument: a number on the do-not-call list is never
//! dialled (checked when the series is planned and again before every attempt), nothing is dialled
//! outside the organisation's calling hours, an instalment paid meanwhile is not chased, and a
//! series stops after [`MAX_ATTEMPTS`] attempts, [`RETRY_AFTER`] apart. Each attempt is claimed by
//! one conditional update, so however many servers run the pass a reminder is dialled once.

use chrono::{DateTime, TimeDelta, Utc};
use leadline_domain::Viewer;
use serde::Serialize;

use crate::sales::{day_text, local_day};
use crate::{Db, Result, StoreError, db_run};

/// Attempts in one series before it is given up (`exhausted`).
pub const MAX_ATTEMPTS: i64 = 3;
/// Between an unanswered attempt and the next.
pub const RETRY_AFTER: TimeDelta = TimeDelta::hours(2);
/// An attempt still `dialling` this long after it began belonged to a server that died: it is
/// taken back (the attempt stays counted).
pub const STALE_DIALLING: TimeDelta = TimeDelta::minutes(15);

/// The customer's number to call: the primary contact's first phone (then the other contacts').
const PRIMARY_PHONE: &str = "(SELECT ph.e164 FROM customer_contact_phones ph \
    JOIN customer_contacts ct ON ct.id = ph.contact_id \
    WHERE ph.customer_id = i.customer_id AND ct.deleted_at IS NULL \
    ORDER BY ct.is_primary DESC, ct.position, ct.id, ph.position, ph.id LIMIT 1)";

/// The past-due open instalments of confirmed orders with no series yet (binds the
/// organisation's day as `$1`).
const UNPLANNED: &str = "FROM payment_instalments i JOIN orders o ON o.id = i.order_id \
    JOIN customers c ON c.id = i.customer_id \
    WHERE o.status = 'confirmed' AND i.open_fen > 0 AND i.due_date < $1 AND c.deleted_at IS NULL \
    AND NOT EXISTS (SELECT 1 FROM reminder_calls r WHERE r.instalment_id = i.id)";

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    Answered,
    Busy,
    NoAnswer,
    Failed,
}

impl AttemptResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
        }
    }
}

/// A reminder claimed for dialling now: what to dial and what to say.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueReminder {
    pub id: i64,
    pub e164: String,
    /// What is still open of the instalment now, in 分.
    pub amount_fen: i64,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    pub customer_id: i64,
    /// The rep key 1 reaches.
    pub rep_id: Option<i64>,
    /// This attempt's number, from 1.
    pub attempts: i64,
}

/// One reminder series as the list shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReminderCall {
    pub id: i64,
    pub instalment_id: i64,
    pub order_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub rep_id: Option<i64>,
    pub e164: Option<String>,
    pub amount_fen: i64,
    pub due_date: String,
    /// pending | dialling | done | skipped | exhausted
    pub status: String,
    /// dnc | no_phone | paid
    pub skip_reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's result.
    pub result: Option<String>,
    pub key_pressed: Option<String>,
}

/// Starts a series for every confirmed order's instalment that is past due at `now` (the
/// organisation's day), still open and has none yet; a customer without a number or on the
/// do-not-call list gets a skipped series, so the list says why nobody was called. Returns how
/// many series were planned.
pub async fn plan(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    let today = local_day(now, crate::call_stats::org_zone(db).await?);
    let sql = format!(
        "INSERT INTO reminder_calls (kind, instalment_id, order_id, customer_id, rep_id, e164, \
         amount_fen, due_date, status, skip_reason, next_attempt_at, created_at, updated_at) \
         SELECT 'payment', s.id, s.order_id, s.customer_id, s.owner_id, s.e164, s.open_fen, s.due_date, \
         CASE WHEN s.e164 IS NULL OR s.dnc THEN 'skipped' ELSE 'pending' END, \
         CASE WHEN s.e164 IS NULL THEN 'no_phone' WHEN s.dnc THEN 'dnc' END, $2, $2, $2 \
         FROM (SELECT i.id, i.order_id, i.customer_id, o.owner_id, i.open_fen, i.due_date, \
               {PRIMARY_PHONE} AS e164, \
               EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.e164 = {PRIMARY_PHONE}) AS dnc \
               {UNPLANNED}) s \
         WHERE TRUE ON CONFLICT (instalment_id) DO NOTHING"
    );
    let planned = db_run!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(day_text(today))
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(planned)
}

/// Whether [`plan`] at `now` would start a series (so that an idle hour queues no job).
pub async fn has_work(db: &Db, now: DateTime<Utc>) -> Result<bool> {
    let today = local_day(now, crate::call_stats::org_zone(db).await?);
    let sql = format!("SELECT i.id {UNPLANNED} LIMIT 1");
    let found: Option<i64> = db_run!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(day_text(today))
    .fetch_optional(pool)
    .await?);
    Ok(found.is_some())
}

/// Claims up to `limit` reminders due at `now` for dialling. Outside the organisation's calling
/// hours nothing is claimed. A series whose instalment was paid meanwhile, or whose number went
/// onto the do-not-call list, is skipped instead of dialled.
pub async fn take_due(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueReminder>> {
    let snapshot = crate::workday::config::snapshot(db).await?;
    if !snapshot
        .calling_hours(None)
        .is_callable(now, snapshot.org_zone)
    {
        return Ok(Vec::new());
    }
    let candidates: Vec<(i64, Option<String>, i64, bool)> = db_run!(db, |pool| {
        sqlx::query(
            "UPDATE reminder_calls SET status = 'pending', updated_at = $1 \
             WHERE status = 'dialling' AND last_attempt_at < $2",
        )
        .bind(now)
        .bind(now - STALE_DIALLING)
        .execute(pool)
        .await?;
        sqlx::query_as(
            "SELECT r.id, r.e164, i.open_fen, \
             EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.e164 = r.e164) \
             FROM reminder_calls r JOIN payment_instalments i ON i.id = r.instalment_id \
             WHERE r.status = 'pending' AND r.next_attempt_at <= $1 \
             ORDER BY r.next_attempt_at, r.id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    let mut due = Vec::new();
    for (id, e164, open_fen, dnc) in candidates {
        let skip = match (e164.is_none(), dnc, open_fen <= 0) {
            (true, _, _) => Some("no_phone"),
            (_, true, _) => Some("dnc"),
            (_, _, true) => Some("paid"),
            _ => None,
        };
        if let Some(reason) = skip {
            db_run!(db, |pool| sqlx::query(
                "UPDATE reminder_calls SET status = 'skipped', skip_reason = $1, updated_at = $2 \
                 WHERE id = $3 AND status = 'pending'"
            )
            .bind(reason)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
            continue;
        }
        let claimed: Option<DueReminder> = db_run!(db, |pool| sqlx::query_as(
            "UPDATE reminder_calls SET status = 'dialling', attempts = attempts + 1, \
             amount_fen = $1, last_attempt_at = $2, updated_at = $2 \
             WHERE id = $3 AND status = 'pending' \
             RETURNING id, e164, amount_fen, due_date, customer_id, rep_id, attempts"
        )
        .bind(open_fen)
        .bind(now)
        .bind(id)
        .fetch_optional(pool)
        .await?);
        due.extend(claimed);
    }
    Ok(due)
}

/// What one attempt came to, as the call service reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub result: AttemptResult,
    /// The key pressed while the reminder played (`1`: put through to the rep).
    pub key_pressed: Option<String>,
    pub sip_call_id: Option<String>,
}

/// Records an attempt's outcome: answered ends the series, anything else tries again
/// [`RETRY_AFTER`] later until [`MAX_ATTEMPTS`] are spent. Refused (`NotFound`) for a reminder
/// not being dialled.
pub async fn finish(db: &Db, id: i64, outcome: &AttemptOutcome, now: DateTime<Utc>) -> Result<()> {
    let updated = db_run!(db, |pool| sqlx::query(
        "UPDATE reminder_calls SET result = $1, key_pressed = $2, sip_call_id = $3, \
         status = CASE WHEN $1 = 'answered' THEN 'done' WHEN attempts >= $4 THEN 'exhausted' \
         ELSE 'pending' END, next_attempt_at = $5, updated_at = $6 \
         WHERE id = $7 AND status = 'dialling'"
    )
    .bind(outcome.result.as_str())
    .bind(outcome.key_pressed.as_deref())
    .bind(outcome.sip_call_id.as_deref())
    .bind(MAX_ATTEMPTS)
    .bind(now + RETRY_AFTER)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected());
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The reminder series of the customers `viewer` may see, newest first.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<ReminderCall>> {
    let visible = crate::sales::access::customer_condition(viewer, "c");
    let sql = format!(
        "SELECT r.id, r.instalment_id, r.order_id, r.customer_id, c.name AS customer_name, r.rep_id, \
         r.e164, r.amount_fen, r.due_date, r.status, r.skip_reason, r.attempts, r.next_attempt_at, \
         r.last_attempt_at, r.result, r.key_pressed \
         FROM reminder_calls r JOIN customers c ON c.id = r.customer_id \
         WHERE ({visible}) AND ($1 IS NULL OR r.status = $1) ORDER BY r.id DESC LIMIT $2"
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(status)
    .bind(limit.clamp(1, 500))
    .fetch_all(pool)
    .await?))
}
