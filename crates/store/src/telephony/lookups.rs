//! What the IVR's collect nodes look up (issue 27): an order's number as keyed → where it stands
//! with its payments (from the instalments' open amounts), and a rep's phone PIN → their month's
//! results and commission from the assessment. The caller is not a signed-in user: these answer
//! only what the IVR speaks, nothing that names the customer.

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::UserId;
use leadline_domain::targets::Month;

use crate::sales::{local_day, parse_day};
use crate::{Db, Result, db_run};

/// Where an order stands: `paid`, `due`, `overdue`, `not_confirmed` or `cancelled`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStanding {
    pub status: &'static str,
    /// What is still open, in 分 (the open instalments; without a plan, what is owed).
    pub open_fen: i64,
    /// The earliest instalment still open.
    pub next_due: Option<NaiveDate>,
}

/// The order whose number (its id, as shown on the sale: 订单 #12) is `number`, as it stands at
/// `now` in the organisation's zone; `None` when no order has it.
pub async fn order_standing(
    db: &Db,
    number: &str,
    now: DateTime<Utc>,
) -> Result<Option<OrderStanding>> {
    let Some(id) = order_id(number) else {
        return Ok(None);
    };
    let order: Option<(String, i64, i64, i64)> = db_run!(db, |pool| sqlx::query_as(
        "SELECT o.status, o.total_fen, \
         CAST(COALESCE((SELECT SUM(amount_fen) FROM returns WHERE order_id = o.id), 0) AS BIGINT), \
         CAST(COALESCE((SELECT SUM(amount_fen) FROM payments WHERE order_id = o.id), 0) AS BIGINT) \
         FROM orders o WHERE o.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?);
    let Some((status, total, returned, paid)) = order else {
        return Ok(None);
    };
    match status.as_str() {
        "confirmed" => {}
        "cancelled" => return Ok(Some(closed("cancelled"))),
        _ => return Ok(Some(closed("not_confirmed"))),
    }
    let open: Vec<(String, i64)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT due_date, open_fen FROM payment_instalments WHERE order_id = $1 AND open_fen > 0 \
         ORDER BY due_date, seq"
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    });
    let planned: bool = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM payment_instalments WHERE order_id = $1)"
    )
    .bind(id)
    .fetch_one(pool)
    .await?);
    let open_fen = if planned {
        open.iter().map(|(_, fen)| fen).sum()
    } else {
        (total - returned - paid).max(0)
    };
    let next_due = match open.first() {
        Some((day, _)) => Some(parse_day("payment_instalments", id, day)?),
        None => None,
    };
    let today = local_day(now, crate::call_stats::org_zone(db).await?);
    let status = if open_fen == 0 {
        "paid"
    } else if next_due.is_some_and(|due| due < today) {
        "overdue"
    } else {
        "due"
    };
    Ok(Some(OrderStanding {
        status,
        open_fen,
        next_due,
    }))
}

fn closed(status: &'static str) -> OrderStanding {
    OrderStanding {
        status,
        open_fen: 0,
        next_due: None,
    }
}

/// Digits only, no more than an id can hold.
fn order_id(number: &str) -> Option<i64> {
    if number.is_empty() || number.len() > 18 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok().filter(|id| *id > 0)
}

/// A rep's month as the IVR says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepMonth {
    pub user_id: UserId,
    pub month: Month,
    /// Orders and their amount in the month (the assessment's figures done).
    pub orders: i64,
    pub revenue_fen: i64,
    pub commission_fen: i64,
}

/// The month `now` falls in (organisation's zone) of the active person whose phone PIN is `pin`;
/// `None` for a PIN no one (or more than one person) has.
pub async fn rep_month(db: &Db, pin: &str, now: DateTime<Utc>) -> Result<Option<RepMonth>> {
    let Some(user) = crate::auth::phone_pin::find_by_pin(db, pin).await? else {
        return Ok(None);
    };
    let zone = crate::call_stats::org_zone(db).await?;
    let month = Month::of(local_day(now, zone));
    let assessment = crate::assessment::lock::current(db, user, month).await?;
    Ok(Some(RepMonth {
        user_id: user,
        month,
        orders: assessment.done.orders,
        revenue_fen: assessment.done.revenue_fen,
        commission_fen: assessment.bonus.commission_fen,
    }))
}
