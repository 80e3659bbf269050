//! The ledger holds: after a few hundred random orders (some discounted, approved or
//! refused), returns and payments — refusals included — every customer's payments plus what
//! the unpaid report says is open equal its confirmed orders less returns, to the 分, and the
//! stored sums match a model kept beside them; the open part kept on each instalment equals
//! the domain's recompute from the model, and so does the backfill statement's. Seeded, on
//! both backends.

use std::collections::HashMap;

use leadline_domain::Role;
use leadline_domain::calling_hours::DEFAULT_TZ;
use rand::{RngExt, SeedableRng, rngs::StdRng};

use super::orders::{self};
use super::receivables;
use super::tests::{customer, day, order_of, pay, product, sh};
use super::{approvals, ledger, reports};
use crate::Db;
use crate::StoreError;
use crate::db::test_db::TestDb;
use crate::db_run;
use crate::ownership::claim::tests::user;
use leadline_domain::sales_receivables::settle_instalments;

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Books {
    ordered: i64,
    returned: i64,
    paid: i64,
}

#[tokio::test]
async fn payments_plus_the_open_balance_equal_orders_less_returns_for_every_customer() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let rep = user(db, "rep", Role::Sales, None).await;
    let finance = user(db, "cashier", Role::Finance, None).await;
    let products = [
        (product(db, &admin, "企业版年费", 50_000).await, 50_000),
        (product(db, &admin, "培训服务", 19_900).await, 19_900),
        (product(db, &admin, "耗材包", 1_234).await, 1_234),
    ];
    let mut customers = Vec::new();
    for n in 0..4 {
        customers.push(customer(db, &format!("客户{n}"), Some(&rep)).await);
    }
    let mut rng = StdRng::seed_from_u64(23);
    let mut books: HashMap<i64, Books> = HashMap::new();
    // Confirmed orders: (id, customer, total, returned, paid).
    let mut open: Vec<(i64, i64, i64, i64, i64)> = Vec::new();
    let (mut refused_pay, mut refused_return) = (0, 0);
    for step in 0..300 {
        let at = sh(1, 10) + chrono::Duration::minutes(step);
        match rng.random_range(0..10) {
            0..=3 => {
                let c = customers[rng.random_range(0..customers.len())];
                let (p, list) = products[rng.random_range(0..products.len())];
                let q = rng.random_range(1..5);
                // A third of the orders go below the rep's 5%.
                let unit = if rng.random_range(0..3) == 0 {
                    list * 9 / 10
                } else {
                    list
                };
                let mut new = order_of(p, q, unit, Some("批量采购"));
                // Half of them paid in 2 to 4 monthly instalments.
                if rng.random_range(0..2) == 0 {
                    new.even_plan = Some(orders::EvenPlan {
                        count: rng.random_range(2..5),
                        first_due_date: super::local_day(at, DEFAULT_TZ) + chrono::Days::new(10),
                    });
                }
                let o = orders::create(db, &rep, c, &new, at).await.unwrap();
                let mut status = o.summary.status.clone();
                if status == "awaiting_approval" {
                    let approve = rng.random_range(0..2) == 0;
                    approvals::decide(
                        db,
                        &admin,
                        o.discount_requests[0].id,
                        approve,
                        Some("审批"),
                        at,
                    )
                    .await
                    .unwrap();
                    status = if approve {
                        "confirmed".into()
                    } else {
                        "draft".into()
                    };
                }
                if status == "confirmed" {
                    books.entry(c).or_default().ordered += unit * q;
                    open.push((o.summary.id, c, unit * q, 0, 0));
                }
            }
            4..=5 if !open.is_empty() => {
                let i = rng.random_range(0..open.len());
                let (id, c, total, returned, _) = open[i];
                let amount = rng.random_range(1..=total / 2 + 1);
                match receivables::record_return(db, &rep, id, amount, Some("质量问题"), at).await
                {
                    Ok(_) => {
                        assert!(returned + amount <= total);
                        open[i].3 += amount;
                        books.entry(c).or_default().returned += amount;
                    }
                    Err(StoreError::Invalid(p)) if p[0].code == "return_too_large" => {
                        assert!(returned + amount > total);
                        refused_return += 1;
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            _ if !open.is_empty() => {
                let i = rng.random_range(0..open.len());
                let (id, c, total, returned, paid) = open[i];
                let owed = total - returned - paid;
                let amount = rng.random_range(1..=owed.max(1) * 5 / 4 + 1);
                match receivables::record_payment(db, &finance, id, &pay(amount), at).await {
                    Ok(_) => {
                        assert!(amount <= owed, "paid {amount} of {owed} owed");
                        open[i].4 += amount;
                        books.entry(c).or_default().paid += amount;
                    }
                    Err(StoreError::Refused("overpayment")) => {
                        assert!(amount > owed);
                        refused_pay += 1;
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            _ => {}
        }
    }
    assert!(
        refused_pay > 0 && refused_return > 0,
        "the run tried both refusals"
    );
    let report = reports::unpaid(db, &finance, day("2027-06-01"))
        .await
        .unwrap();
    for c in &customers {
        let b = books.get(c).copied().unwrap_or_default();
        let stored: (i64, i64, i64) = db_run!(db, |pool| {
            sqlx::query_as(
            "SELECT \
             CAST(COALESCE((SELECT SUM(total_fen) FROM orders WHERE customer_id = $1 AND status = 'confirmed'), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(amount_fen) FROM returns WHERE customer_id = $1), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(amount_fen) FROM payments WHERE customer_id = $1), 0) AS BIGINT)"
        )
        .bind(c)
        .fetch_one(pool)
        .await
        .unwrap()
        });
        assert_eq!(stored, (b.ordered, b.returned, b.paid), "customer {c}");
        // What the report finds open (instalment by instalment), less the credits of orders
        // returned after payment, is the balance.
        let credit: i64 = open
            .iter()
            .filter(|o| o.1 == *c)
            .map(|o| (o.2 - o.3 - o.4).min(0))
            .sum();
        let open_fen = report
            .customers
            .iter()
            .find(|l| l.id == Some(*c))
            .map_or(0, |l| l.open_fen);
        assert_eq!(
            b.paid + open_fen + credit,
            b.ordered - b.returned,
            "customer {c}: payments + open balance = orders − returns"
        );
    }
    // The open part kept on each instalment by the payment and return transactions is the
    // domain's recompute from the model's sums; the backfill statement gives the same.
    check_kept(db, &open).await;
    crate::db::sql::execute(
        db,
        "UPDATE payment_instalments SET paid_fen = 0, open_fen = 0",
        vec![],
    )
    .await
    .unwrap();
    ledger::settle_all(db).await.unwrap();
    check_kept(db, &open).await;
}

/// Each confirmed order's instalments carry what `settle_instalments` gives for the model's
/// returns and payments.
async fn check_kept(db: &Db, open: &[(i64, i64, i64, i64, i64)]) {
    for &(id, _, _, returned, paid) in open {
        let rows: Vec<(i64, i64, i64)> = db_run!(db, |pool| {
            sqlx::query_as(
                "SELECT amount_fen, paid_fen, open_fen FROM payment_instalments WHERE order_id = $1 \
                 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .unwrap()
        });
        let amounts: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let want: Vec<(i64, i64, i64)> = settle_instalments(&amounts, returned, paid)
            .into_iter()
            .zip(&amounts)
            .map(|(s, a)| (*a, s.paid_fen, s.open_fen))
            .collect();
        assert_eq!(rows, want, "order {id}");
    }
}
