//! Reminder calls on both backends, with the clock moved: planned once an instalment is past due,
//! dialled only in calling hours, retried and given up, never dialled when the number is on the
//! do-not-call list or the instalment was paid, and claimed once by racing servers; revisit
//! confirmations planned the day after an order is confirmed, done only on a key, the rep told
//! to call back when the customer asked for them and was not put through.

use std::time::Duration;

use leadline_domain::Viewer;

use super::reminder_calls::{self, AttemptOutcome, AttemptResult, MAX_ATTEMPTS, REVISIT_CALL_BACK};
use crate::Db;
use crate::db_run;
use crate::notify::{Change, Notifier, Woken};
use crate::sales::orders;
use crate::sales::receivables;
use crate::sales::tests::{Floor, customer, day, floor, notifications, order_of, pay, sh};

/// A contact with one phone for `customer`.
async fn phone(db: &Db, customer: i64, e164: &str) {
    db_run!(db, |pool| {
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO customer_contacts (customer_id, name, is_primary, created_at, updated_at) \
             VALUES ($1, '王经理', TRUE, $2, $2) RETURNING id",
        )
        .bind(customer)
        .bind(sh(1, 9))
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO customer_contact_phones (contact_id, customer_id, e164, raw) VALUES ($1, $2, $3, $3)",
        )
        .bind(contact)
        .bind(customer)
        .bind(e164)
        .execute(pool)
        .await
        .unwrap();
    })
}

async fn dnc(db: &Db, e164: &str) {
    db_run!(db, |pool| sqlx::query(
        "INSERT INTO dnc_numbers (e164, reason, added_at) VALUES ($1, '客户要求', $2)"
    )
    .bind(e164)
    .bind(sh(1, 9))
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
}

/// An order of 100,000 分 for `customer`, due in one instalment on 2026-12-10.
async fn owing(f: &Floor, customer: i64) -> i64 {
    let mut new = order_of(f.product, 2, 50_000, None);
    new.instalments = vec![orders::PlanInput {
        due_date: day("2026-12-10"),
        amount_fen: 100_000,
    }];
    orders::create(&f.db.db, &f.rep, customer, &new, sh(7, 10))
        .await
        .unwrap()
        .summary
        .id
}

fn outcome(result: AttemptResult) -> AttemptOutcome {
    AttemptOutcome {
        result,
        key_pressed: None,
        put_through: false,
        sip_call_id: None,
    }
}

async fn statuses(db: &Db, viewer: &Viewer) -> Vec<(String, Option<String>, i64)> {
    let mut rows: Vec<_> = reminder_calls::list(db, viewer, None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.status, r.skip_reason, r.attempts))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn a_past_due_instalment_is_called_in_hours_retried_and_given_up_after_three_attempts() {
    let f = floor().await;
    let db = &f.db.db;
    phone(db, f.customer, "+8613800138001").await;
    owing(&f, f.customer).await;
    assert!(!reminder_calls::has_work(db, sh(10, 10)).await.unwrap());
    assert_eq!(
        reminder_calls::plan(db, sh(10, 10)).await.unwrap(),
        0,
        "due today: not yet"
    );
    assert!(reminder_calls::has_work(db, sh(11, 8)).await.unwrap());
    assert_eq!(reminder_calls::plan(db, sh(11, 8)).await.unwrap(), 1);
    assert!(!reminder_calls::has_work(db, sh(11, 8)).await.unwrap());
    assert_eq!(
        reminder_calls::plan(db, sh(11, 9)).await.unwrap(),
        0,
        "one series"
    );
    assert!(
        reminder_calls::take_due(db, sh(11, 8), 10)
            .await
            .unwrap()
            .is_empty(),
        "08:00 is before the calling hours"
    );
    let first = reminder_calls::take_due(db, sh(11, 10), 10).await.unwrap();
    assert_eq!(first.len(), 1);
    let call = &first[0];
    assert_eq!(
        (
            call.e164.as_str(),
            call.amount_fen,
            call.due_date.as_deref()
        ),
        ("+8613800138001", 100_000, Some("2026-12-10"))
    );
    assert_eq!((call.rep_id, call.attempts), (Some(f.rep.user_id.0), 1));
    assert!(
        reminder_calls::take_due(db, sh(11, 10), 10)
            .await
            .unwrap()
            .is_empty(),
        "a reminder being dialled is not dialled twice"
    );
    reminder_calls::finish(db, call.id, &outcome(AttemptResult::Busy), sh(11, 10))
        .await
        .unwrap();
    assert!(
        reminder_calls::take_due(db, sh(11, 11), 10)
            .await
            .unwrap()
            .is_empty(),
        "retried two hours later, not one"
    );
    // A payment of part of it: the next attempt speaks what is still open.
    receivables::record_payment(
        db,
        &f.finance,
        owing_order(db, f.customer).await,
        &pay(40_000),
        sh(11, 13),
    )
    .await
    .unwrap();
    let second = reminder_calls::take_due(db, sh(11, 14), 10).await.unwrap();
    assert_eq!((second.len(), second[0].attempts), (1, 2));
    assert_eq!(second[0].amount_fen, 60_000);
    reminder_calls::finish(db, call.id, &outcome(AttemptResult::NoAnswer), sh(11, 14))
        .await
        .unwrap();
    let third = reminder_calls::take_due(db, sh(11, 16), 10).await.unwrap();
    assert_eq!(third[0].attempts, MAX_ATTEMPTS);
    reminder_calls::finish(db, call.id, &outcome(AttemptResult::NoAnswer), sh(11, 16))
        .await
        .unwrap();
    assert!(
        reminder_calls::take_due(db, sh(14, 10), 10)
            .await
            .unwrap()
            .is_empty(),
        "three attempts, then no more"
    );
    assert_eq!(
        statuses(db, &f.admin).await,
        vec![("exhausted".into(), None, 3)]
    );
    assert!(
        reminder_calls::finish(db, call.id, &outcome(AttemptResult::Answered), sh(14, 10))
            .await
            .is_err(),
        "an outcome for a reminder not being dialled is refused"
    );
}

async fn owing_order(db: &Db, customer: i64) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM orders WHERE customer_id = $1"
    )
    .bind(customer)
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn an_answered_reminder_with_key_1_ends_the_series_and_keeps_the_key() {
    let f = floor().await;
    let db = &f.db.db;
    phone(db, f.customer, "+8613800138002").await;
    owing(&f, f.customer).await;
    reminder_calls::plan(db, sh(11, 9)).await.unwrap();
    let due = reminder_calls::take_due(db, sh(11, 9), 10).await.unwrap();
    let answered = AttemptOutcome {
        result: AttemptResult::Answered,
        key_pressed: Some("1".into()),
        put_through: true,
        sip_call_id: Some("abc@leadline".into()),
    };
    reminder_calls::finish(db, due[0].id, &answered, sh(11, 9))
        .await
        .unwrap();
    let rows = reminder_calls::list(db, &f.admin, Some("done"), None, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].result.as_deref(), rows[0].key_pressed.as_deref()),
        (Some("answered"), Some("1"))
    );
    assert!(
        reminder_calls::take_due(db, sh(14, 10), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn do_not_call_paid_and_numberless_customers_are_never_dialled() {
    let f = floor().await;
    let db = &f.db.db;
    let listed = customer(db, "已拒访公司", Some(&f.rep)).await;
    let later_listed = customer(db, "后拒访公司", Some(&f.rep)).await;
    let paid = customer(db, "已付清公司", Some(&f.rep)).await;
    let numberless = customer(db, "无电话公司", Some(&f.rep)).await;
    phone(db, listed, "+8613800138011").await;
    phone(db, later_listed, "+8613800138012").await;
    phone(db, paid, "+8613800138013").await;
    dnc(db, "+8613800138011").await;
    for c in [listed, later_listed, paid, numberless] {
        owing(&f, c).await;
    }
    assert_eq!(reminder_calls::plan(db, sh(11, 9)).await.unwrap(), 4);
    dnc(db, "+8613800138012").await;
    receivables::record_payment(
        db,
        &f.finance,
        owing_order(db, paid).await,
        &pay(100_000),
        sh(11, 9),
    )
    .await
    .unwrap();
    assert!(
        reminder_calls::take_due(db, sh(11, 10), 10)
            .await
            .unwrap()
            .is_empty(),
        "nobody is dialled"
    );
    assert_eq!(
        statuses(db, &f.admin).await,
        vec![
            ("skipped".into(), Some("dnc".into()), 0),
            ("skipped".into(), Some("dnc".into()), 0),
            ("skipped".into(), Some("no_phone".into()), 0),
            ("skipped".into(), Some("paid".into()), 0),
        ]
    );
}

#[tokio::test]
async fn two_servers_taking_due_reminders_at_once_dial_each_once() {
    let f = floor().await;
    let db = &f.db.db;
    for n in 0..8 {
        let c = customer(db, &format!("客户{n}"), Some(&f.rep)).await;
        phone(db, c, &format!("+86138001381{n:02}")).await;
        owing(&f, c).await;
    }
    reminder_calls::plan(db, sh(11, 9)).await.unwrap();
    let (a, b) = tokio::join!(
        reminder_calls::take_due(db, sh(11, 10), 100),
        reminder_calls::take_due(db, sh(11, 10), 100)
    );
    let mut ids: Vec<i64> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|r| r.id)
        .collect();
    ids.sort();
    let claimed = ids.len();
    ids.dedup();
    assert_eq!((claimed, ids.len()), (8, 8));
}

#[tokio::test]
async fn the_list_follows_the_customer_visibility_rule() {
    let f = floor().await;
    let db = &f.db.db;
    phone(db, f.customer, "+8613800138003").await;
    owing(&f, f.customer).await;
    reminder_calls::plan(db, sh(11, 9)).await.unwrap();
    for (who, seen) in [
        (&f.admin, 1),
        (&f.rep, 1),
        (&f.sup, 1),
        (&f.other_sup, 0),
        (&f.agent, 0),
    ] {
        assert_eq!(
            reminder_calls::list(db, who, None, None, 10)
                .await
                .unwrap()
                .len(),
            seen,
            "{:?} {:?}",
            who.role,
            who.user_id
        );
    }
}

fn keyed(key: &str, put_through: bool) -> AttemptOutcome {
    AttemptOutcome {
        key_pressed: Some(key.into()),
        put_through,
        ..outcome(AttemptResult::Answered)
    }
}

#[tokio::test]
async fn an_order_is_called_back_the_day_after_it_was_confirmed_and_only_a_key_ends_the_revisit() {
    let f = floor().await;
    let db = &f.db.db;
    phone(db, f.customer, "+8613800138021").await;
    owing(&f, f.customer).await; // confirmed on the 7th at 10:00, 100,000 分
    assert!(
        !reminder_calls::has_revisit_work(db, sh(8, 9))
            .await
            .unwrap()
    );
    assert_eq!(
        reminder_calls::plan_revisits(db, sh(8, 9)).await.unwrap(),
        0,
        "23 hours after: not yet"
    );
    assert!(
        reminder_calls::has_revisit_work(db, sh(8, 11))
            .await
            .unwrap()
    );
    assert_eq!(
        reminder_calls::plan_revisits(db, sh(8, 11)).await.unwrap(),
        1
    );
    assert_eq!(
        reminder_calls::plan_revisits(db, sh(9, 11)).await.unwrap(),
        0
    );
    assert!(
        !reminder_calls::has_revisit_work(db, sh(9, 11))
            .await
            .unwrap()
    );
    assert_eq!(
        reminder_calls::plan(db, sh(8, 11)).await.unwrap(),
        0,
        "the instalment is not yet due"
    );

    let first = reminder_calls::take_due(db, sh(8, 11), 10).await.unwrap();
    assert_eq!(first.len(), 1);
    let call = &first[0];
    assert_eq!(
        (
            call.kind.as_str(),
            call.amount_fen,
            call.order_date.as_deref(),
            call.due_date.as_deref()
        ),
        ("revisit", 100_000, Some("2026-12-07"), None)
    );
    // Answered, but the customer pressed nothing: the order is not confirmed, call again.
    reminder_calls::finish(db, call.id, &outcome(AttemptResult::Answered), sh(8, 11))
        .await
        .unwrap();
    assert_eq!(
        statuses(db, &f.admin).await,
        vec![("pending".into(), None, 1)]
    );
    let second = reminder_calls::take_due(db, sh(8, 14), 10).await.unwrap();
    assert_eq!((second.len(), second[0].attempts), (1, 2));
    reminder_calls::finish(db, call.id, &keyed("1", false), sh(8, 14))
        .await
        .unwrap();
    let done = reminder_calls::list(db, &f.rep, Some("done"), Some("revisit"), 10)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(
        (
            done[0].key_pressed.as_deref(),
            done[0].order_date.as_deref()
        ),
        (Some("1"), Some("2026-12-07"))
    );
    assert!(
        reminder_calls::list(db, &f.rep, None, Some("payment"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        notifications(db, &f.rep, REVISIT_CALL_BACK).await,
        0,
        "a confirmation asks nothing of the rep"
    );
    assert!(
        reminder_calls::take_due(db, sh(9, 13), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_customer_asking_for_the_rep_who_was_not_reached_leaves_the_rep_a_call_back_notice() {
    let f = floor().await;
    let db = &f.db.db;
    let reached = customer(db, "已转接公司", Some(&f.rep)).await;
    let missed = customer(db, "未转接公司", Some(&f.rep)).await;
    phone(db, reached, "+8613800138022").await;
    phone(db, missed, "+8613800138023").await;
    owing(&f, reached).await;
    owing(&f, missed).await;
    assert_eq!(
        reminder_calls::plan_revisits(db, sh(8, 11)).await.unwrap(),
        2
    );
    let due = reminder_calls::take_due(db, sh(8, 11), 10).await.unwrap();
    assert_eq!(due.len(), 2);
    let missed_order = owing_order(db, missed).await;
    // The rep's open pages hear of it: the notice is announced to the rep alone.
    let (_stop, stop) = tokio::sync::watch::channel(false);
    let server = Notifier::default();
    let mut changes = server.subscribe();
    let _listening = server.listen(db, stop);
    let mut next = async || match changes.wait_for(Duration::from_secs(30), |_| true).await {
        Woken::Change(c) => c,
        other => panic!("no change: {other:?}"),
    };
    assert_eq!(next().await, Change::CATCH_UP, "listening");
    for call in &due {
        let put_through = call.customer_id == reached;
        reminder_calls::finish(db, call.id, &keyed("2", put_through), sh(8, 11))
            .await
            .unwrap();
    }
    assert_eq!(notifications(db, &f.rep, REVISIT_CALL_BACK).await, 1);
    let heard = next().await;
    assert_eq!(heard, Change::notice(Some(f.rep.user_id)));
    assert!(!heard.concerns(f.admin.user_id));
    let order: i64 = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT CAST(payload ->> 'order_id' AS BIGINT) FROM notifications WHERE kind = $1"
    )
    .bind(REVISIT_CALL_BACK)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(order, missed_order);
    assert_eq!(
        statuses(db, &f.admin).await,
        vec![("done".into(), None, 1), ("done".into(), None, 1)]
    );
}

#[tokio::test]
async fn orders_confirmed_long_ago_are_not_called_back_nor_customers_on_the_do_not_call_list() {
    let f = floor().await;
    let db = &f.db.db;
    let listed = customer(db, "拒访公司", Some(&f.rep)).await;
    phone(db, f.customer, "+8613800138024").await;
    phone(db, listed, "+8613800138025").await;
    dnc(db, "+8613800138025").await;
    owing(&f, f.customer).await;
    owing(&f, listed).await;
    assert_eq!(
        reminder_calls::plan_revisits(db, sh(22, 11)).await.unwrap(),
        0,
        "confirmed 15 days before: past the window"
    );
    assert_eq!(
        reminder_calls::plan_revisits(db, sh(9, 11)).await.unwrap(),
        2
    );
    let due = reminder_calls::take_due(db, sh(9, 11), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].customer_id, f.customer);
    assert_eq!(
        statuses(db, &f.admin).await,
        vec![
            ("dialling".into(), None, 1),
            ("skipped".into(), Some("dnc".into()), 0)
        ]
    );
}
