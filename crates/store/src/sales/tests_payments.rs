//! Payments, returns, reminders and the receivables reports with the clock injected, on both
//! backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`); the fixtures are the orders tests'.

use chrono::{Duration, TimeZone, Utc};
use leadline_domain::Role;
use leadline_domain::calling_hours::DEFAULT_TZ;

use super::orders::{self, PlanInput};
use super::receivables::{self};
use super::tests::{audited, customer, day, floor, notifications, order_of, pay, product, sh};
use super::{reminders, reports};
use crate::StoreError;
use crate::ownership::claim::tests::user;

#[tokio::test]
async fn finance_records_partial_payments_returns_reduce_the_rest_and_overpayment_is_refused() {
    let f = floor().await;
    let db = &f.db.db;
    let o = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 2, 50_000, None),
        sh(7, 10),
    )
    .await
    .unwrap();
    let id = o.summary.id;
    let r = receivables::record_payment(db, &f.agent, id, &pay(1_000), sh(7, 11)).await;
    assert!(matches!(r, Err(StoreError::Forbidden)), "{r:?}");
    let r = receivables::record_payment(db, &f.rep, id, &pay(1_000), sh(7, 11)).await;
    assert!(matches!(r, Err(StoreError::Forbidden)), "{r:?}");
    receivables::record_payment(db, &f.finance, id, &pay(30_000), sh(7, 11))
        .await
        .unwrap();
    let r = receivables::record_return(db, &f.rep, id, 20_001, None, sh(8, 10)).await;
    assert!(
        matches!(&r, Err(StoreError::Invalid(p)) if p[0].field == "reason"),
        "{r:?}"
    );
    receivables::record_return(db, &f.rep, id, 20_001, Some("包装破损"), sh(8, 10))
        .await
        .unwrap();
    let o = orders::get(db, &f.rep, id).await.unwrap();
    assert_eq!(o.owed_fen, 100_000 - 30_000 - 20_001);
    let r = receivables::record_payment(db, &f.finance, id, &pay(49_999 + 1), sh(8, 11)).await;
    assert!(
        matches!(r, Err(StoreError::Refused("overpayment"))),
        "{r:?}"
    );
    let r = receivables::record_payment(db, &f.finance, id, &pay(0), sh(8, 11)).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    receivables::record_payment(db, &f.finance, id, &pay(49_999), sh(8, 11))
        .await
        .unwrap();
    let o = orders::get(db, &f.rep, id).await.unwrap();
    assert_eq!((o.owed_fen, o.payments.len(), o.returns.len()), (0, 2, 1));
    let r = receivables::record_payment(db, &f.finance, id, &pay(1), sh(8, 12)).await;
    assert!(
        matches!(r, Err(StoreError::Refused("overpayment"))),
        "{r:?}"
    );
    let r = receivables::record_return(db, &f.rep, id, 80_000, Some("全部退回"), sh(8, 12)).await;
    assert!(
        matches!(&r, Err(StoreError::Invalid(p)) if p[0].code == "return_too_large"),
        "{r:?}"
    );
    assert_eq!(audited(db, "payment", "create").await, 2);
    assert_eq!(audited(db, "return", "create").await, 1);
    // Nothing is paid on an order still waiting for approval.
    let waiting = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 1, 40_000, Some("试用")),
        sh(8, 12),
    )
    .await
    .unwrap();
    let r =
        receivables::record_payment(db, &f.finance, waiting.summary.id, &pay(1), sh(8, 12)).await;
    assert!(
        matches!(r, Err(StoreError::Conflict("order_not_confirmed"))),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_arriving_at_once_never_pay_more_than_is_owed() {
    let f = floor().await;
    let db = &f.db.db;
    let o = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 2, 50_000, None),
        sh(7, 10),
    )
    .await
    .unwrap();
    let id = o.summary.id;
    // Eight payments of 30,000 on 100,000 owed, all at once: three fit, never a fourth.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (db, finance) = (db.clone(), f.finance.clone());
        tasks.push(tokio::spawn(async move {
            receivables::record_payment(&db, &finance, id, &pay(30_000), sh(7, 11)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Refused("overpayment")) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 3);
    let o = orders::get(db, &f.finance, id).await.unwrap();
    assert_eq!((o.summary.paid_fen, o.owed_fen), (90_000, 10_000));
}

#[tokio::test]
async fn the_owner_is_reminded_once_before_and_once_after_the_due_date_while_it_is_open() {
    let f = floor().await;
    let db = &f.db.db;
    let mut new = order_of(f.product, 2, 50_000, None);
    new.instalments = vec![
        PlanInput {
            due_date: day("2026-12-15"),
            amount_fen: 60_000,
        },
        PlanInput {
            due_date: day("2027-01-15"),
            amount_fen: 40_000,
        },
    ];
    let o = orders::create(db, &f.rep, f.customer, &new, sh(7, 10))
        .await
        .unwrap();
    assert_eq!(
        reminders::run_pass(db, sh(10, 9)).await.unwrap(),
        0,
        "five days ahead: nothing yet"
    );
    assert_eq!(
        reminders::run_pass(db, sh(12, 9)).await.unwrap(),
        1,
        "three days ahead"
    );
    assert_eq!(reminders::run_pass(db, sh(13, 9)).await.unwrap(), 0, "once");
    assert_eq!(
        reminders::run_pass(db, sh(15, 9)).await.unwrap(),
        0,
        "due today: already reminded"
    );
    assert_eq!(
        reminders::run_pass(db, sh(16, 9)).await.unwrap(),
        1,
        "the day after"
    );
    assert_eq!(reminders::run_pass(db, sh(20, 9)).await.unwrap(), 0);
    assert_eq!(
        notifications(db, &f.rep, reminders::PAYMENT_DUE_SOON).await,
        1
    );
    assert_eq!(
        notifications(db, &f.rep, reminders::PAYMENT_OVERDUE).await,
        1
    );
    // The second instalment, paid in full before its reminder: nothing is sent for it.
    receivables::record_payment(db, &f.finance, o.summary.id, &pay(100_000), sh(20, 10))
        .await
        .unwrap();
    let jan = DEFAULT_TZ
        .with_ymd_and_hms(2027, 1, 14, 9, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(reminders::run_pass(db, jan).await.unwrap(), 0);
    assert_eq!(
        reminders::run_pass(db, jan + Duration::days(3))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_unpaid_report_ages_what_is_open_and_the_daily_report_lists_the_days_payments() {
    let f = floor().await;
    let db = &f.db.db;
    let other = customer(db, "远大贸易", Some(&f.rep)).await;
    // Ordered in July: no due date of the plan was in the past then.
    let ordered = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 7, 1, 2, 0, 0).unwrap();
    let mut a = order_of(f.product, 2, 50_000, None);
    a.instalments = vec![
        PlanInput {
            due_date: day("2026-08-01"),
            amount_fen: 30_000,
        },
        PlanInput {
            due_date: day("2026-10-20"),
            amount_fen: 30_000,
        },
        PlanInput {
            due_date: day("2026-12-31"),
            amount_fen: 40_000,
        },
    ];
    let a = orders::create(db, &f.rep, f.customer, &a, ordered)
        .await
        .unwrap();
    let mut b = order_of(f.product, 1, 50_000, None);
    b.instalments = vec![PlanInput {
        due_date: day("2026-11-30"),
        amount_fen: 50_000,
    }];
    let b = orders::create(db, &f.rep, other, &b, ordered)
        .await
        .unwrap();
    // 10,000 paid settles part of the oldest instalment; 5,000 returned comes off the last.
    receivables::record_payment(db, &f.finance, a.summary.id, &pay(10_000), sh(7, 10))
        .await
        .unwrap();
    receivables::record_payment(db, &f.finance, b.summary.id, &pay(20_000), sh(7, 15))
        .await
        .unwrap();
    receivables::record_payment(db, &f.finance, b.summary.id, &pay(1_000), sh(8, 10))
        .await
        .unwrap();
    receivables::record_return(db, &f.rep, a.summary.id, 5_000, Some("少发一件"), sh(7, 16))
        .await
        .unwrap();
    let rep = reports::unpaid(db, &f.finance, day("2026-12-07"))
        .await
        .unwrap();
    let star = rep
        .customers
        .iter()
        .find(|c| c.id == Some(f.customer))
        .unwrap();
    // 2026-08-01: 128 days → over 90; 2026-10-20: 48 days → 31–60; 2026-12-31: not due.
    assert_eq!(star.ageing.over_90, 20_000);
    assert_eq!(star.ageing.d31_60, 30_000);
    assert_eq!(star.ageing.not_due, 35_000);
    let far = rep.customers.iter().find(|c| c.id == Some(other)).unwrap();
    assert_eq!(far.ageing.d1_30, 29_000);
    assert_eq!(rep.total.total(), 85_000 + 29_000);
    assert_eq!(rep.reps.len(), 1);
    assert_eq!(rep.reps[0].open_fen, 114_000);
    assert_eq!(rep.reps[0].name, "rep");
    // Someone who sees neither customer sees nothing.
    let stranger = user(db, "stranger", Role::Sales, None).await;
    assert_eq!(
        reports::unpaid(db, &stranger, day("2026-12-07"))
            .await
            .unwrap()
            .total
            .total(),
        0
    );
    let daily = reports::daily_collections(db, &f.finance, day("2026-12-07"))
        .await
        .unwrap();
    assert_eq!((daily.payments.len(), daily.total_fen), (2, 30_000));
    assert_eq!(daily.by_method.get("bank_transfer"), Some(&30_000));
    let next = reports::daily_collections(db, &f.finance, day("2026-12-08"))
        .await
        .unwrap();
    assert_eq!(next.total_fen, 1_000);
}

#[tokio::test]
async fn a_return_of_order_lines_gives_back_their_share_to_the_fen_and_no_more_than_was_ordered() {
    use super::receivables::{Returned, record_return_of};
    let f = floor().await;
    let db = &f.db.db;
    // 3 units at 333.34 元: a line of 1,000.02 元.
    let unit = product(db, &f.admin, "培训课时", 33_334).await;
    let o = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(unit, 3, 33_334, None),
        sh(7, 10),
    )
    .await
    .unwrap();
    let (id, line) = (o.summary.id, o.lines[0].id);
    let other = orders::create(
        db,
        &f.rep,
        f.customer,
        &order_of(f.product, 1, 50_000, None),
        sh(7, 10),
    )
    .await
    .unwrap();
    let r = record_return_of(
        db,
        &f.rep,
        id,
        Returned::Lines(vec![(other.lines[0].id, 1)]),
        Some("破损"),
        sh(8, 10),
    )
    .await;
    assert!(
        matches!(&r, Err(StoreError::Invalid(p)) if p[0].field == format!("lines.{}", other.lines[0].id) && p[0].code == "unknown"),
        "another order's line: {r:?}"
    );
    let r = record_return_of(
        db,
        &f.rep,
        id,
        Returned::Lines(vec![(line, 4)]),
        Some("破损"),
        sh(8, 10),
    )
    .await;
    assert!(
        matches!(&r, Err(StoreError::Invalid(p)) if p[0].code == "return_quantity"),
        "more than ordered: {r:?}"
    );
    let first = record_return_of(
        db,
        &f.rep,
        id,
        Returned::Lines(vec![(line, 1)]),
        Some("破损"),
        sh(8, 10),
    )
    .await
    .unwrap();
    assert_eq!(first.amount_fen, 33_334, "a third of 100,002 分");
    let rest = record_return_of(
        db,
        &f.rep,
        id,
        Returned::Lines(vec![(line, 2)]),
        Some("不要了"),
        sh(8, 11),
    )
    .await
    .unwrap();
    assert_eq!(
        first.amount_fen + rest.amount_fen,
        100_002,
        "every unit back is the line's total"
    );
    let o = orders::get(db, &f.rep, id).await.unwrap();
    assert_eq!((o.owed_fen, o.lines[0].returned_quantity), (0, 3));
    let r = record_return_of(
        db,
        &f.rep,
        id,
        Returned::Lines(vec![(line, 1)]),
        Some("再退"),
        sh(8, 12),
    )
    .await;
    assert!(
        matches!(&r, Err(StoreError::Invalid(p)) if p[0].code == "return_quantity"),
        "nothing left to return: {r:?}"
    );
    let kept: i64 = crate::db_run!(db, |p| {
        sqlx::query_scalar("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM return_lines")
            .fetch_one(p)
            .await
            .unwrap()
    });
    assert_eq!(
        kept, 100_002,
        "the return lines hold what each return was worth"
    );
}
