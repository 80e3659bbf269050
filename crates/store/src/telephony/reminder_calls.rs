//! Reminder calls (issue 27), two kinds of series of automatic calls to a customer's primary
//! number:
//! - **payment (催缴)**: an instalment past its due date and still open; the amount and the due
//!   date are spoken and key 1 reaches the rep who owns the order ([`plan`]);
//! - **revisit (回访确认)**: an order confirmed at least [`REVISIT_AFTER`] ago (and not more than
//!   [`REVISIT_WINDOW`]); the order's day and amount are spoken, key 1 confirms the order and key 2
//!   reaches the rep ([`plan_revisits`]). Only a key ends a revisit: a customer who listened and
//!   pressed nothing is called again, and one who asked for the rep while the rep's seat did not
//!   answer leaves the rep a notification to call back.
//!
//! The rules hold here, with the clock as an argument: a number on the do-not-call list is never
//! dialled (checked when the series is planned and again before every attempt), nothing is dialled
//! outside the organisation's calling hours, an instalment paid meanwhile is not chased, and a
//! series stops after [`MAX_ATTEMPTS`] attempts, [`RETRY_AFTER`] apart. Each attempt is claimed by one conditional update, so however many
//! servers run the pass a reminder is dialled once.

use chrono::{DateTime, TimeDelta, Utc};
use leadline_domain::{UserId, Viewer};
use serde::Serialize;

use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::sales::{day_text, local_day};
use crate::{Db, Result, StoreError, db_run, in_tx};

/// A payment reminder series (催缴).
pub const PAYMENT: &str = "payment";
/// A revisit confirmation series (回访确认).
pub const REVISIT: &str = "revisit";
/// A confirmed order is called back from this long after its confirmation …
pub const REVISIT_AFTER: TimeDelta = TimeDelta::days(1);
/// … when it was confirmed within this long (older orders are not called back).
pub const REVISIT_WINDOW: TimeDelta = TimeDelta::days(14);
/// The notification a rep gets when a customer asked for them in a revisit and was not put
/// through (payload: order, customer name).
pub const REVISIT_CALL_BACK: &str = "revisit_call_back";

/// Attempts in one series before it is given up (`exhausted`).
pub const MAX_ATTEMPTS: i64 = 3;
/// Between an unanswered attempt and the next.
pub const RETRY_AFTER: TimeDelta = TimeDelta::hours(2);
/// An attempt still `dialling` this long after it began belonged to a server that died: it is
/// taken back (the attempt stays counted).
pub const STALE_DIALLING: TimeDelta = TimeDelta::minutes(15);

/// The number to call for the customer in `{row}.customer_id`: the primary contact's first phone
/// (then the other contacts').
fn primary_phone(row: &str) -> String {
    format!(
        "(SELECT ph.e164 FROM customer_contact_phones ph \
         JOIN customer_contacts ct ON ct.id = ph.contact_id \
         WHERE ph.customer_id = {row}.customer_id AND ct.deleted_at IS NULL \
         ORDER BY ct.is_primary DESC, ct.position, ct.id, ph.position, ph.id LIMIT 1)"
    )
}

/// The past-due open instalments of confirmed orders with no series yet (binds the
/// organisation's day as `$1`).
const UNPLANNED: &str = "FROM payment_instalments i JOIN orders o ON o.id = i.order_id \
    JOIN customers c ON c.id = i.customer_id \
    WHERE o.status = 'confirmed' AND i.open_fen > 0 AND i.due_date < $1 AND c.deleted_at IS NULL \
    AND NOT EXISTS (SELECT 1 FROM reminder_calls r WHERE r.instalment_id = i.id)";

/// The confirmed orders due a revisit with none yet; `latest` and `earliest` are the placeholders
/// of the confirmation times that bound them.
fn unvisited(latest: &str, earliest: &str) -> String {
    format!(
        "FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.status = 'confirmed' AND o.confirmed_at <= {latest} AND o.confirmed_at > {earliest} \
         AND c.deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM reminder_calls r WHERE r.order_id = o.id AND r.kind = 'revisit')"
    )
}

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
    /// [`PAYMENT`] or [`REVISIT`].
    pub kind: String,
    pub e164: String,
    /// A payment's: what is still open of the instalment now; a revisit's: the order's total
    /// (分).
    pub amount_fen: i64,
    /// A payment's due day, `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// A revisit's order day, `YYYY-MM-DD`.
    pub order_date: Option<String>,
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
    /// payment | revisit
    pub kind: String,
    pub instalment_id: Option<i64>,
    pub order_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub rep_id: Option<i64>,
    pub e164: Option<String>,
    pub amount_fen: i64,
    /// A payment's due day.
    pub due_date: Option<String>,
    /// A revisit's order day.
    pub order_date: Option<String>,
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
               {phone} AS e164, \
               EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.e164 = {phone}) AS dnc \
               {UNPLANNED}) s \
         WHERE TRUE ON CONFLICT (instalment_id) DO NOTHING",
        phone = primary_phone("i")
    );
    let planned = db_run!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(day_text(today))
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(planned)
}

/// Starts a revisit series for every order confirmed between [`REVISIT_WINDOW`] and
/// [`REVISIT_AFTER`] before `now` that has none yet, speaking the order's total and the day it was
/// confirmed (the organisation's calendar); as with payments, a customer without a number or on
/// the do-not-call list gets a skipped series. Returns how many series were planned.
pub async fn plan_revisits(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    let zone = crate::call_stats::org_zone(db).await?;
    let sql = format!(
        "SELECT o.id, o.customer_id, o.owner_id, o.total_fen, o.confirmed_at, {phone} AS e164, \
         EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.e164 = {phone}) AS dnc \
         {unvisited} ORDER BY o.id LIMIT 1000",
        phone = primary_phone("o"),
        unvisited = unvisited("$1", "$2")
    );
    type Candidate = (
        i64,
        i64,
        Option<i64>,
        i64,
        DateTime<Utc>,
        Option<String>,
        bool,
    );
    let candidates: Vec<Candidate> =
        db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(now - REVISIT_AFTER)
            .bind(now - REVISIT_WINDOW)
            .fetch_all(pool)
            .await?);
    let mut planned = 0;
    for (order, customer, rep, total_fen, confirmed_at, e164, dnc) in candidates {
        let (status, skip) = match (&e164, dnc) {
            (None, _) => ("skipped", Some("no_phone")),
            (_, true) => ("skipped", Some("dnc")),
            _ => ("pending", None),
        };
        let order_date = day_text(local_day(confirmed_at, zone));
        planned += db_run!(db, |pool| {
            sqlx::query(
            "INSERT INTO reminder_calls (kind, order_id, customer_id, rep_id, e164, amount_fen, \
             order_date, status, skip_reason, next_attempt_at, created_at, updated_at) \
             VALUES ('revisit', $1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9) ON CONFLICT DO NOTHING"
        )
        .bind(order)
        .bind(customer)
        .bind(rep)
        .bind(e164.as_deref())
        .bind(total_fen)
        .bind(order_date.as_str())
        .bind(status)
        .bind(skip)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
        });
    }
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

/// Whether [`plan_revisits`] at `now` would start a series.
pub async fn has_revisit_work(db: &Db, now: DateTime<Utc>) -> Result<bool> {
    let sql = format!("SELECT o.id {} LIMIT 1", unvisited("$1", "$2"));
    let found: Option<i64> = db_run!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(now - REVISIT_AFTER)
    .bind(now - REVISIT_WINDOW)
    .fetch_optional(pool)
    .await?);
    Ok(found.is_some())
}

/// Claims up to `limit` reminders due at `now` for dialling. Outside the organisation's calling
/// hours nothing is claimed. A series whose number went onto the do-not-call list, or (a payment)
/// whose instalment was paid meanwhile, is skipped instead of dialled.
pub async fn take_due(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueReminder>> {
    let snapshot = crate::workday::config::snapshot(db).await?;
    if !snapshot
        .calling_hours(None)
        .is_callable(now, snapshot.org_zone)
    {
        return Ok(Vec::new());
    }
    type Candidate = (i64, Option<String>, Option<i64>, bool);
    let candidates: Vec<Candidate> = db_run!(db, |pool| {
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
             FROM reminder_calls r LEFT JOIN payment_instalments i ON i.id = r.instalment_id \
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
        let skip = if e164.is_none() {
            Some("no_phone")
        } else if dnc {
            Some("dnc")
        } else if open_fen.is_some_and(|open| open <= 0) {
            Some("paid")
        } else {
            None
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
        // A payment speaks what is open now; a revisit the order's total as planned.
        let claimed: Option<DueReminder> = db_run!(db, |pool| {
            sqlx::query_as(
            "UPDATE reminder_calls SET status = 'dialling', attempts = attempts + 1, \
             amount_fen = COALESCE($1, amount_fen), last_attempt_at = $2, updated_at = $2 \
             WHERE id = $3 AND status = 'pending' \
             RETURNING id, kind, e164, amount_fen, due_date, order_date, customer_id, rep_id, attempts"
        )
        .bind(open_fen)
        .bind(now)
        .bind(id)
        .fetch_optional(pool)
        .await?
        });
        due.extend(claimed);
    }
    Ok(due)
}

/// What one attempt came to, as the call service reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub result: AttemptResult,
    /// The key pressed while the reminder played (a payment's `1` and a revisit's `2`: put
    /// through to the rep; a revisit's `1`: the order confirmed).
    pub key_pressed: Option<String>,
    /// Whether the customer talked with the rep.
    pub put_through: bool,
    pub sip_call_id: Option<String>,
}

/// Records an attempt's outcome: an answered payment reminder, or a revisit answered with key 1
/// or 2, ends the series; anything else tries again [`RETRY_AFTER`] later until [`MAX_ATTEMPTS`]
/// are spent. A revisit customer who pressed 2 and did not reach the rep leaves the rep a
/// [`REVISIT_CALL_BACK`] notification. Refused (`NotFound`) for a reminder not being dialled.
pub async fn finish(db: &Db, id: i64, outcome: &AttemptOutcome, now: DateTime<Utc>) -> Result<()> {
    let outcome = outcome.clone();
    let notified = in_tx!(db, |tx| finish_body(tx, id, outcome, now))?;
    if let Some(rep) = notified {
        crate::notify::announce(db, crate::notify::Change::notice(Some(rep)));
    }
    Ok(())
}

async fn finish_body(
    tx: &mut impl Tx,
    id: i64,
    outcome: AttemptOutcome,
    now: DateTime<Utc>,
) -> Result<Option<UserId>> {
    let row = tx
        .fetch_optional(
            "UPDATE reminder_calls SET result = $1, key_pressed = $2, sip_call_id = $3, \
             status = CASE WHEN $1 = 'answered' AND (kind = 'payment' OR $2 IN ('1', '2')) THEN 'done' \
             WHEN attempts >= $4 THEN 'exhausted' ELSE 'pending' END, \
             next_attempt_at = $5, updated_at = $6 \
             WHERE id = $7 AND status = 'dialling' RETURNING kind, rep_id, order_id",
            &[
                Arg::Text(outcome.result.as_str().into()),
                Arg::OptText(outcome.key_pressed.clone()),
                Arg::OptText(outcome.sip_call_id.clone()),
                Arg::I64(MAX_ATTEMPTS),
                Arg::Time(now + RETRY_AFTER),
                Arg::Time(now),
                Arg::I64(id),
            ],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    let (kind, rep, order) = (row.text(0)?, row.opt_i64(1)?, row.i64(2)?);
    let asked_for_rep = kind == REVISIT && outcome.key_pressed.as_deref() == Some("2");
    let Some(rep) = rep.filter(|_| asked_for_rep && !outcome.put_through) else {
        return Ok(None);
    };
    let customer = tx
        .fetch_one(
            "SELECT c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1",
            &[Arg::I64(order)],
        )
        .await?
        .text(0)?;
    crate::sales::approvals::notify(
        tx,
        rep,
        REVISIT_CALL_BACK,
        serde_json::json!({ "order_id": order, "customer_name": customer }),
        now,
    )
    .await?;
    Ok(Some(UserId(rep)))
}

const LIST_COLUMNS: &str = "r.id, r.kind, r.instalment_id, r.order_id, r.customer_id, \
    c.name AS customer_name, r.rep_id, r.e164, r.amount_fen, r.due_date, r.order_date, r.status, \
    r.skip_reason, r.attempts, r.next_attempt_at, r.last_attempt_at, r.result, r.key_pressed";

/// The series about one order, oldest first (the caller has checked that the order is visible).
pub async fn for_order(db: &Db, order: i64) -> Result<Vec<ReminderCall>> {
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM reminder_calls r JOIN customers c ON c.id = r.customer_id \
         WHERE r.order_id = $1 ORDER BY r.id"
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(order)
    .fetch_all(pool)
    .await?))
}

/// The reminder series of the customers `viewer` may see, newest first; `kind` keeps one kind.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    status: Option<&str>,
    kind: Option<&str>,
    limit: i64,
) -> Result<Vec<ReminderCall>> {
    let visible = crate::sales::access::customer_condition(viewer, "c");
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM reminder_calls r JOIN customers c ON c.id = r.customer_id \
         WHERE ({visible}) AND ($1 IS NULL OR r.status = $1) AND ($2 IS NULL OR r.kind = $2) \
         ORDER BY r.id DESC LIMIT $3"
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(status)
    .bind(kind)
    .bind(limit.clamp(1, 500))
    .fetch_all(pool)
    .await?))
}
