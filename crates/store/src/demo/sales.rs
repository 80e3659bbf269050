//! Demo sales (issue 23): a product list priced in 元 with one bundle, and on the demo
//! customers (seeded by the customers module, read back here) orders over the last months —
//! some with a discount approved by the supervisor or waiting for it — returns, partial and
//! whole payments, and instalments left overdue for the unpaid report and the reminders.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use leadline_domain::{Role, UserId, Viewer};
use rand::{RngExt, SeedableRng, rngs::StdRng};

use crate::auth::users::{self, User};
use crate::sales::approvals;
use crate::sales::orders::{self, NewOrder, PlanInput};
use crate::sales::products::{self, BundleItem, ProductInput};
use crate::sales::receivables::{self, NewPayment};
use crate::sales::{LineInput, local_day};
use crate::{Db, Result, db_run};

/// What the demo sales seeded.
#[derive(Debug, Default, Clone, Copy)]
pub struct SalesSummary {
    pub products: usize,
    pub orders: usize,
    pub payments: usize,
    pub returns: usize,
}

/// The products: (code, name, unit, price in 元).
const PRODUCTS: [(&str, &str, &str, i64); 5] = [
    ("CC-SEAT", "云呼叫中心坐席（年）", "席", 3_600),
    ("CRM-ENT", "CRM 企业版（年）", "套", 12_800),
    ("BOT-OUT", "智能外呼机器人", "套", 25_000),
    ("SVC-TRAIN", "实施培训服务", "天", 2_000),
    ("HS-01", "降噪耳麦", "副", 299),
];

/// Seeds the products, then orders on up to 30 demo customers as of `now` (deterministic).
/// Call after the customers are seeded; with none, only the products are written.
pub(crate) async fn seed(db: &Db, admin: &User, now: DateTime<Utc>) -> Result<SalesSummary> {
    let admin_v = users::viewer(db, admin).await?;
    let mut summary = SalesSummary::default();
    let mut ids = Vec::new();
    for (code, name, unit, yuan) in PRODUCTS {
        let input = ProductInput {
            code: Some(code.into()),
            name: name.into(),
            unit: unit.into(),
            price_fen: yuan * 100,
            ..ProductInput::default()
        };
        ids.push((
            products::create(db, &admin_v, &input, now).await?.id,
            yuan * 100,
        ));
    }
    let bundle = ProductInput {
        code: Some("PKG-OPEN".into()),
        name: "开业套餐（CRM 企业版 + 培训 2 天）".into(),
        unit: "套".into(),
        price_fen: 15_800 * 100,
        items: vec![
            BundleItem {
                bundle_id: 0,
                product_id: ids[1].0,
                name: String::new(),
                quantity: 1,
            },
            BundleItem {
                bundle_id: 0,
                product_id: ids[3].0,
                name: String::new(),
                quantity: 2,
            },
        ],
        ..ProductInput::default()
    };
    ids.push((
        products::create(db, &admin_v, &bundle, now).await?.id,
        15_800 * 100,
    ));
    summary.products = ids.len();

    let customers: Vec<(i64, Option<UserId>)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT id, owner_id FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL ORDER BY id LIMIT 30"
    )
    .fetch_all(pool)
    .await?
    });
    let finance: Option<UserId> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'finance' AND active = TRUE ORDER BY id LIMIT 1"
    )
    .fetch_optional(pool)
    .await?);
    let collector = match finance {
        Some(id) => viewer_of(db, id).await?,
        None => admin_v.clone(),
    };
    let mut rng = StdRng::seed_from_u64(23);
    let zone = crate::call_stats::org_zone(db).await?;
    for (n, (customer, owner)) in customers.into_iter().enumerate() {
        let Some(owner) = owner else { continue };
        let rep = viewer_of(db, owner).await?;
        if !matches!(rep.role, Role::Sales | Role::Agent | Role::Supervisor) {
            continue;
        }
        // Ordered between 150 and 5 days ago.
        let at = now
            - Duration::days(rng.random_range(5..150))
            - Duration::hours(rng.random_range(0..8));
        let (product, list) = ids[rng.random_range(0..ids.len())];
        let quantity = rng.random_range(1..6);
        // Every fourth order 8% off: beyond a rep's 5%, for the supervisor.
        let discounted = n % 4 == 3;
        let unit = if discounted { list * 92 / 100 } else { list };
        let total = unit * quantity;
        let day = local_day(at, zone);
        let instalments = if n % 3 == 0 && total >= 200 {
            // Half at 30 days, half at 60.
            vec![
                PlanInput {
                    due_date: plus(day, 30),
                    amount_fen: total - total / 2,
                },
                PlanInput {
                    due_date: plus(day, 60),
                    amount_fen: total / 2,
                },
            ]
        } else {
            Vec::new()
        };
        let new = NewOrder {
            lines: vec![LineInput {
                product_id: product,
                quantity,
                unit_price_fen: Some(unit),
            }],
            delivery_date: Some(plus(day, 7)),
            notes: None,
            discount_reason: discounted.then(|| "年度框架协议，批量采购".to_string()),
            instalments,
            even_plan: None,
            opportunity_id: None,
        };
        let order = orders::create(db, &rep, customer, &new, at).await?;
        summary.orders += 1;
        let id = order.summary.id;
        if order.summary.status == "awaiting_approval" {
            // The older ones were approved by the team's supervisor (or the admin); the newest
            // still waits on the approvals page.
            if at < now - Duration::days(20) {
                let decider = decider_for(db, &rep)
                    .await?
                    .unwrap_or_else(|| admin_v.clone());
                let req = order.discount_requests[0].id;
                approvals::decide(
                    db,
                    &decider,
                    req,
                    true,
                    Some("同意，按框架价"),
                    at + Duration::hours(3),
                )
                .await?;
            } else {
                continue;
            }
        }
        // Payments: a third paid in full, a third in part, a third nothing yet (overdue when
        // old enough). Every seventh order had goods returned.
        if n % 7 == 5 {
            let amount = total / 10;
            if amount > 0 {
                receivables::record_return(
                    db,
                    &rep,
                    id,
                    amount,
                    Some("部分货品破损退回"),
                    at + Duration::days(10),
                )
                .await?;
                summary.returns += 1;
            }
        }
        let owed = orders::get(db, &collector, id).await?.owed_fen;
        let paid = match n % 3 {
            0 => owed,
            1 => owed * 2 / 5,
            _ => 0,
        };
        if paid > 0 {
            let p = NewPayment {
                amount_fen: paid,
                method: Some(if n % 2 == 0 { "bank_transfer" } else { "cash" }.into()),
                reference: Some(format!("HX{:06}", 100_000 + n)),
                notes: None,
                paid_at: Some(at + Duration::days(rng.random_range(20..40)).min(now - at)),
            };
            receivables::record_payment(db, &collector, id, &p, at + Duration::days(1)).await?;
            summary.payments += 1;
        }
    }
    Ok(summary)
}

fn plus(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(chrono::Days::new(days)).unwrap_or(day)
}

async fn viewer_of(db: &Db, id: UserId) -> Result<Viewer> {
    let u = users::get_user(db, id).await?;
    users::viewer(db, &u).await
}

/// A supervisor of `rep`'s team, to decide the demo's discounts.
async fn decider_for(db: &Db, rep: &Viewer) -> Result<Option<Viewer>> {
    let sup: Option<i64> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT ts.user_id FROM team_supervisors ts JOIN users r ON r.team_id = ts.team_id \
         WHERE r.id = $1 AND ts.user_id <> $1 ORDER BY ts.user_id LIMIT 1"
    )
    .bind(rep.user_id)
    .fetch_optional(pool)
    .await?);
    match sup {
        Some(id) => Ok(Some(viewer_of(db, UserId(id)).await?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_db::TestDb;
    use crate::ownership::claim::tests::user;
    use crate::sales::reports;

    /// On a handful of customers the demo leaves orders, payments, a return, a discount that
    /// waits for approval and money overdue; the products are priced in whole 元.
    #[tokio::test]
    async fn the_demo_sales_leave_orders_payments_and_overdue_money() {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        let admin_v = user(db, "boss", Role::Admin, None).await;
        let admin = users::get_user(db, admin_v.user_id).await.unwrap();
        let team = users::create_team(db, "销售一组", None).await.unwrap();
        let sup = user(db, "sup", Role::Supervisor, Some(team)).await;
        users::set_supervisor(db, team, sup.user_id, true, None)
            .await
            .unwrap();
        user(db, "cashier", Role::Finance, None).await;
        let rep = user(db, "rep", Role::Sales, Some(team)).await;
        for n in 0..12 {
            crate::sales::tests::customer(db, &format!("演示客户{n}"), Some(&rep)).await;
        }
        let now = crate::sales::tests::sh(7, 10);
        let s = seed(db, &admin, now).await.unwrap();
        assert_eq!(s.products, 6);
        assert!(s.orders == 12 && s.payments > 0 && s.returns > 0, "{s:?}");
        let all = products::list(db, false).await.unwrap();
        assert!(all.iter().all(|p| p.price_fen % 100 == 0));
        let unpaid = reports::unpaid(db, &admin_v, local_day(now, chrono_tz::Asia::Shanghai))
            .await
            .unwrap();
        assert!(unpaid.total.overdue() > 0, "some money is overdue");
        let requests: i64 = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM discount_requests"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(requests, 3, "every fourth order asked for a discount");
    }
}
