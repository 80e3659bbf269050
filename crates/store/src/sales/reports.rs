//! The receivables reports: the daily collections report (收款日报) and the unpaid report by
//! rep and by customer with ageing (账龄 30/60/90), over the customers the viewer may see.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use leadline_domain::sales_receivables::{AgeBucket, Ageing};
use leadline_domain::{UserId, Viewer};
use serde::Serialize;

use super::access::customer_condition;
use super::{day_start, day_text};
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
    let zone = crate::call_stats::org_zone(db).await?;
    let from = day_start(day, zone);
    let to = day_start(day.checked_add_days(Days::new(1)).unwrap_or(day), zone);
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
struct OpenSum {
    customer_id: i64,
    customer_name: String,
    customer_owner: Option<String>,
    owner_id: Option<UserId>,
    owner_name: Option<String>,
    bucket: i64,
    open_fen: i64,
}

/// What confirmed orders still owe as of `today`, by customer and by the rep who sold them,
/// each split by age (the customers with the most overdue first). Sums the open part kept on
/// each instalment (`sales::ledger`), bucketed by due date in SQL by [`AgeBucket::bounds`].
pub async fn unpaid(db: &Db, viewer: &Viewer, today: NaiveDate) -> Result<UnpaidReport> {
    let cond = customer_condition(viewer, "c");
    let sql = format!(
        "SELECT o.customer_id, c.name AS customer_name, cu.display_name AS customer_owner, o.owner_id, \
         ou.display_name AS owner_name, CAST(CASE WHEN i.due_date >= $1 THEN 0 WHEN i.due_date >= $2 THEN 1 \
         WHEN i.due_date >= $3 THEN 2 WHEN i.due_date >= $4 THEN 3 ELSE 4 END AS BIGINT) AS bucket, \
         CAST(SUM(i.open_fen) AS BIGINT) AS open_fen \
         FROM payment_instalments i JOIN orders o ON o.id = i.order_id \
         JOIN customers c ON c.id = o.customer_id LEFT JOIN users cu ON cu.id = c.owner_id \
         LEFT JOIN users ou ON ou.id = o.owner_id \
         WHERE i.open_fen > 0 AND o.status = 'confirmed' AND c.deleted_at IS NULL AND {cond} \
         GROUP BY o.customer_id, c.name, cu.display_name, o.owner_id, ou.display_name, bucket"
    );
    let bounds = AgeBucket::bounds(today).map(day_text);
    let sums: Vec<OpenSum> = db_run!(db, |pool| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in &bounds {
            q = q.bind(b.clone());
        }
        q.fetch_all(pool).await?
    });
    let mut customers: BTreeMap<i64, UnpaidLine> = BTreeMap::new();
    let mut reps: BTreeMap<Option<UserId>, UnpaidLine> = BTreeMap::new();
    let mut total = Ageing::default();
    for o in sums {
        let bucket = usize::try_from(o.bucket)
            .ok()
            .and_then(|k| AgeBucket::ALL.get(k).copied())
            .unwrap_or(AgeBucket::Over90);
        total.add(bucket, o.open_fen);
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
            .add(bucket, o.open_fen);
        reps.entry(o.owner_id)
            .or_insert_with(|| {
                line(
                    o.owner_id.map(|u| u.0),
                    o.owner_name.clone().unwrap_or_default(),
                    None,
                )
            })
            .ageing
            .add(bucket, o.open_fen);
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
