//! The owner's payment reminders: an instalment still open gets its order's owner one
//! notification in the [`REMIND_BEFORE_DAYS`] days before its due date and one after it (the
//! stamps `reminded_before_at` / `reminded_after_at` make each once, however many servers run
//! the pass). Run by a job with `now` injected.

use chrono::{DateTime, Days, NaiveDate, Utc};
use leadline_domain::sales_receivables::{self as recv, REMIND_BEFORE_DAYS, Reminder};
use serde_json::json;

use super::approvals::notify;
use super::{day_text, local_day, orders, parse_day};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, db_run, in_tx};

pub const PAYMENT_DUE_SOON: &str = "payment_due_soon";
pub const PAYMENT_OVERDUE: &str = "payment_overdue";

/// At most this many orders per pass; the next pass takes the rest.
pub const BATCH: i64 = 500;

/// Whether a pass at `now` would look at anything (so that an idle hour queues no job).
pub async fn has_work(db: &Db, now: DateTime<Utc>) -> Result<bool> {
    let today = local_day(now, crate::call_stats::org_zone(db).await?);
    let horizon = today
        .checked_add_days(Days::new(REMIND_BEFORE_DAYS))
        .unwrap_or(today);
    let found: Option<i64> = db_run!(db, |pool| {
        sqlx::query_scalar(
        "SELECT i.id FROM payment_instalments i JOIN orders o ON o.id = i.order_id \
         WHERE o.status = 'confirmed' AND i.due_date <= $1 \
         AND (i.reminded_before_at IS NULL OR (i.reminded_after_at IS NULL AND i.due_date < $2)) LIMIT 1"
    )
    .bind(day_text(horizon))
    .bind(day_text(today))
    .fetch_optional(pool)
    .await?
    });
    Ok(found.is_some())
}

/// Sends the reminders due at `now`; returns how many notifications were written.
pub async fn run_pass(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    let today = local_day(now, crate::call_stats::org_zone(db).await?);
    let horizon = today
        .checked_add_days(Days::new(REMIND_BEFORE_DAYS))
        .unwrap_or(today);
    let orders: Vec<i64> = db_run!(db, |pool| {
        sqlx::query_scalar(
        "SELECT DISTINCT i.order_id FROM payment_instalments i JOIN orders o ON o.id = i.order_id \
         WHERE o.status = 'confirmed' AND i.due_date <= $1 \
         AND (i.reminded_before_at IS NULL OR (i.reminded_after_at IS NULL AND i.due_date < $2)) \
         ORDER BY i.order_id LIMIT $3"
    )
    .bind(day_text(horizon))
    .bind(day_text(today))
    .bind(BATCH)
    .fetch_all(pool)
    .await?
    });
    let mut sent = 0;
    for order in orders {
        sent += in_tx!(db, |tx| remind_order(tx, order, now, today))?;
    }
    if sent > 0 {
        crate::notify::announce(db, crate::notify::Change::notice(None));
    }
    Ok(sent)
}

async fn remind_order(
    tx: &mut impl Tx,
    order: i64,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<u64> {
    let (_, status, _) = orders::lock(tx, order).await?;
    if status != "confirmed" {
        return Ok(0);
    }
    let head = tx
        .fetch_one(
            "SELECT o.owner_id, c.name, \
             CAST(COALESCE((SELECT SUM(amount_fen) FROM returns WHERE order_id = o.id), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(amount_fen) FROM payments WHERE order_id = o.id), 0) AS BIGINT) \
             FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1",
            &[Arg::I64(order)],
        )
        .await?;
    let (owner, customer_name, returned, paid) =
        (head.opt_i64(0)?, head.text(1)?, head.i64(2)?, head.i64(3)?);
    // The plan, one row at a time (a Tx statement returns its first row).
    let mut plan = Vec::new();
    let mut after = 0i64;
    while let Some(r) = tx
        .fetch_optional(
            "SELECT id, seq, due_date, amount_fen, reminded_before_at, reminded_after_at \
             FROM payment_instalments WHERE order_id = $1 AND seq > $2 ORDER BY seq LIMIT 1",
            &[Arg::I64(order), Arg::I64(after)],
        )
        .await?
    {
        after = r.i64(1)?;
        let id = r.i64(0)?;
        plan.push((
            id,
            r.i64(1)?,
            parse_day("payment_instalments", id, &r.text(2)?)?,
            r.i64(3)?,
            r.opt_time(4)?.is_some(),
            r.opt_time(5)?.is_some(),
        ));
    }
    let amounts: Vec<i64> = plan.iter().map(|p| p.3).collect();
    let open = recv::open_per_instalment(&amounts, returned, paid);
    let mut sent = 0;
    for ((id, seq, due, _, before, after_sent), open_fen) in plan.into_iter().zip(open) {
        let Some(which) = recv::reminder_due(due, today, open_fen, before, after_sent) else {
            // Settled, or not yet within reach: a settled one past its window is stamped so
            // that the pass stops looking at it.
            if open_fen <= 0 && due <= today {
                tx.execute(
                    "UPDATE payment_instalments SET reminded_before_at = COALESCE(reminded_before_at, $2), \
                     reminded_after_at = COALESCE(reminded_after_at, $2) WHERE id = $1",
                    &[Arg::I64(id), Arg::Time(now)],
                )
                .await?;
            }
            continue;
        };
        let (sql, kind) = match which {
            Reminder::Before => (
                "UPDATE payment_instalments SET reminded_before_at = $2 WHERE id = $1 AND reminded_before_at IS NULL",
                PAYMENT_DUE_SOON,
            ),
            // Overdue: the before-reminder is no longer worth sending either.
            Reminder::After => (
                "UPDATE payment_instalments SET reminded_after_at = $2, \
                 reminded_before_at = COALESCE(reminded_before_at, $2) WHERE id = $1 AND reminded_after_at IS NULL",
                PAYMENT_OVERDUE,
            ),
        };
        if tx.execute(sql, &[Arg::I64(id), Arg::Time(now)]).await? == 1
            && let Some(owner) = owner
        {
            notify(
                tx,
                owner,
                kind,
                json!({
                    "order_id": order, "instalment_id": id, "seq": seq, "due_date": day_text(due),
                    "open_fen": open_fen, "customer_name": customer_name,
                }),
                now,
            )
            .await?;
            sent += 1;
        }
    }
    Ok(sent)
}
