//! The receivables reports: the daily collections report (收款日报) and the unpaid report by
//! rep and by customer with ageing (账龄 30/60/90), over the customers the viewer may see.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use leadline_domain::sales_receivables::{self as recv, AgeBucket, Ageing};
use leadline_domain::{UserId, Viewer};
use serde::Serialize;

use super::access::customer_condition;
use super::{day_start, parse_day};
use crate::{Db, Result, db_run};

/// One payment of the day.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Collection {
    pub id: i64,
    pub paid_at: DateTime<Utc>,
    pub order_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub owner_name: Option<String>,
    pub amount_fen: i64,
    pub method: String,
    pub reference: Option<String>,
    pub recorder_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CollectionsReport {
    pub day: NaiveDate,
    pub payments: Vec<Collection>,
    pub total_fen: i64,
    /// Total per payment method.
    pub by_method: BTreeMap<String, i64>,
}

/// The payments received on local day `day` (by `paid_at`), in order.
pub async fn daily_collections(
    db: &Db,
    viewer: &Viewer,
    day: NaiveDate,
) -> Result<CollectionsReport> {
    let from = day_start(day);
    let to = day_start(day.checked_add_days(Days::new(1)).unwrap_or(day));
    let cond = customer_condition(viewer, "c");
    let sql = format!(
        "SELECT p.id, p.paid_at, p.order_id, p.customer_id, c.name AS customer_name, \
         ou.display_name AS owner_name, p.amount_fen, p.method, p.reference, \
         ru.display_name AS recorder_name FROM payments p JOIN orders o ON o.id = p.order_id \
         JOIN customers c ON c.id = p.customer_id LEFT JOIN users ou ON ou.id = o.owner_id \
         LEFT JOIN users ru ON ru.id = p.recorded_by \
         WHERE p.paid_at >= $1 AND p.paid_at < $2 AND c.deleted_at IS NULL AND {cond} \
         ORDER BY p.paid_at, p.id"
    );
    let payments: Vec<Collection> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?);
    let mut by_method = BTreeMap::new();
    for p in &payments {
        *by_method.entry(p.method.clone()).or_insert(0) += p.amount_fen;
    }
    Ok(CollectionsReport {
        day,
        total_fen: payments.iter().map(|p| p.amount_fen).sum(),
        payments,
        by_method,
    })
}

/// One line of the unpaid report: a customer or a rep, with what is open by age.
#[derive(Debug, Clone, Serialize)]
pub struct UnpaidLine {
    pub id: Option<i64>,
    pub name: String,
    /// For a customer line: its owner.
    pub owner_name: Option<String>,
    pub ageing: Ageing,
    /// The open amount of the line (`ageing.total()`).
    pub open_fen: i64,
    pub overdue_fen: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnpaidReport {
    pub today: NaiveDate,
    pub customers: Vec<UnpaidLine>,
    pub reps: Vec<UnpaidLine>,
    pub total: Ageing,
}

#[derive(sqlx::FromRow)]
struct OpenOrder {
    id: i64,
    customer_id: i64,
    customer_name: String,
    customer_owner: Option<String>,
    owner_id: Option<UserId>,
    owner_name: Option<String>,
    returned_fen: i64,
    paid_fen: i64,
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    order_id: i64,
    due_date: String,
    amount_fen: i64,
}

/// What confirmed orders still owe as of `today`, by customer and by the rep who sold them,
/// each split by age (the customers with the most overdue first).
pub async fn unpaid(db: &Db, viewer: &Viewer, today: NaiveDate) -> Result<UnpaidReport> {
    let cond = customer_condition(viewer, "c");
    let base = format!(
        "FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.status = 'confirmed' AND c.deleted_at IS NULL AND {cond}"
    );
    let orders_sql = format!(
        "SELECT o.id, o.customer_id, c.name AS customer_name, \
         (SELECT cu.display_name FROM users cu WHERE cu.id = c.owner_id) AS customer_owner, \
         o.owner_id, (SELECT ou.display_name FROM users ou WHERE ou.id = o.owner_id) AS owner_name, \
         CAST(COALESCE((SELECT SUM(r.amount_fen) FROM returns r WHERE r.order_id = o.id), 0) AS BIGINT) AS returned_fen, \
         CAST(COALESCE((SELECT SUM(p.amount_fen) FROM payments p WHERE p.order_id = o.id), 0) AS BIGINT) AS paid_fen \
         {base} ORDER BY o.id"
    );
    let plan_sql = format!(
        "SELECT i.id, i.order_id, i.due_date, i.amount_fen FROM payment_instalments i \
         JOIN orders o ON o.id = i.order_id JOIN customers c ON c.id = o.customer_id \
         WHERE o.status = 'confirmed' AND c.deleted_at IS NULL AND {cond} ORDER BY i.order_id, i.seq"
    );
    let (orders, plan): (Vec<OpenOrder>, Vec<PlanRow>) = db_run!(db, |pool| {
        (
            sqlx::query_as(sqlx::AssertSqlSafe(orders_sql))
                .fetch_all(pool)
                .await?,
            sqlx::query_as(sqlx::AssertSqlSafe(plan_sql))
                .fetch_all(pool)
                .await?,
        )
    });
    let mut by_order: BTreeMap<i64, Vec<(NaiveDate, i64)>> = BTreeMap::new();
    for r in plan {
        by_order.entry(r.order_id).or_default().push((
            parse_day("payment_instalments", r.id, &r.due_date)?,
            r.amount_fen,
        ));
    }
    let mut customers: BTreeMap<i64, UnpaidLine> = BTreeMap::new();
    let mut reps: BTreeMap<Option<UserId>, UnpaidLine> = BTreeMap::new();
    let mut total = Ageing::default();
    for o in orders {
        let plan = by_order.remove(&o.id).unwrap_or_default();
        let amounts: Vec<i64> = plan.iter().map(|p| p.1).collect();
        let open = recv::open_per_instalment(&amounts, o.returned_fen, o.paid_fen);
        let mut ageing = Ageing::default();
        for ((due, _), open_fen) in plan.iter().zip(open) {
            if open_fen > 0 {
                ageing.add(AgeBucket::of(*due, today), open_fen);
            }
        }
        if ageing.total() == 0 {
            continue;
        }
        total.merge(&ageing);
        customers
            .entry(o.customer_id)
            .or_insert_with(|| {
                line(
                    Some(o.customer_id),
                    o.customer_name.clone(),
                    o.customer_owner.clone(),
                )
            })
            .ageing
            .merge(&ageing);
        reps.entry(o.owner_id)
            .or_insert_with(|| {
                line(
                    o.owner_id.map(|u| u.0),
                    o.owner_name.clone().unwrap_or_default(),
                    None,
                )
            })
            .ageing
            .merge(&ageing);
    }
    let finish = |m: Vec<UnpaidLine>| {
        let mut v: Vec<UnpaidLine> = m
            .into_iter()
            .map(|mut l| {
                l.open_fen = l.ageing.total();
                l.overdue_fen = l.ageing.overdue();
                l
            })
            .collect();
        v.sort_by(|a, b| {
            b.overdue_fen
                .cmp(&a.overdue_fen)
                .then(b.open_fen.cmp(&a.open_fen))
                .then(a.name.cmp(&b.name))
        });
        v
    };
    Ok(UnpaidReport {
        today,
        customers: finish(customers.into_values().collect()),
        reps: finish(reps.into_values().collect()),
        total,
    })
}

fn line(id: Option<i64>, name: String, owner_name: Option<String>) -> UnpaidLine {
    UnpaidLine {
        id,
        name,
        owner_name,
        ageing: Ageing::default(),
        open_fen: 0,
        overdue_fen: 0,
    }
}
