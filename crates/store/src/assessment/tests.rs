//! Assessment on both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`), the clock
//! injected: commission computed exactly from the month's payments over the order's lines; a
//! locked month does not change when late records arrive while the live figures move; adjusting a
//! locked month is refused; who may read, adjust, lock and unlock.

use leadline_domain::commission::{CommissionRules, ProductRate};
use leadline_domain::targets::Month;

use super::{adjust, live, lock_month, month_table, one, set_rules, unlock_month, year};
use crate::db::sql::Arg;
use crate::ownership::claim::tests::pool_lead;
use crate::work_reports::tests::{call, customer, floor, order, payment, sh};
use crate::{Db, StoreError};

async fn product(db: &Db, name: &str) -> i64 {
    crate::pipeline::tests::insert(
        db,
        "INSERT INTO products (name, price_fen, created_at, updated_at) VALUES ($1, 100, $2, $2) RETURNING id",
        vec![Arg::Text(name.into()), Arg::Time(sh(2026, 1, 1, 0, 0))],
    )
    .await
}

async fn line(db: &Db, order: i64, product: i64, total: i64) {
    crate::pipeline::tests::insert(
        db,
        "INSERT INTO order_lines (order_id, product_id, quantity, list_price_fen, unit_price_fen, line_total_fen) \
         VALUES ($1, $2, 1, $3, $3, $3) RETURNING id",
        vec![Arg::I64(order), Arg::I64(product), Arg::I64(total)],
    )
    .await;
}

const DEC: Month = Month {
    year: 2026,
    month: 12,
};

#[tokio::test]
async fn commission_is_the_months_payments_over_the_lines_at_their_rates() {
    let f = floor().await;
    let db = &f.t.db;
    let (a, b) = (product(db, "软件").await, product(db, "服务").await);
    let rules = CommissionRules {
        default_rate_bp: 300,
        products: vec![ProductRate {
            product_id: a,
            rate_bp: 1_000,
        }],
        per_qualified_fen: 0,
        per_new_customer_fen: 2_000,
    };
    let e = set_rules(db, &f.sup, &rules, sh(2026, 12, 1, 9, 0)).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    set_rules(db, &f.admin, &rules, sh(2026, 12, 1, 9, 0))
        .await
        .unwrap();
    let rep = f.rep.user_id;
    let c = customer(db, rep, sh(2026, 12, 2, 10, 0)).await;
    let o = order(db, rep, c, 40_000, sh(2026, 12, 2, 11, 0)).await;
    line(db, o, a, 30_001).await;
    line(db, o, b, 9_999).await;
    // 10 001 paid in December over 30 001 : 9 999 is 7 501.000025 : 2 499.999975; the floors
    // leave 1 分, which goes to the larger remainder (the second line): 7 501 / 2 500, then
    // 10 % of 7 501 = 750.1 → 750 and 3 % of 2 500 = 75.
    payment(db, o, c, 10_001, f.admin.user_id, sh(2026, 12, 10, 10, 0)).await;
    // November's and January's payments do not count (to the minute at both ends).
    payment(db, o, c, 5_000, f.admin.user_id, sh(2026, 11, 30, 23, 59)).await;
    payment(db, o, c, 5_000, f.admin.user_id, sh(2027, 1, 1, 0, 0)).await;
    // An order without lines earns the default rate: 3 % of 1 234 = 37.02 → 37.
    let o2 = order(db, rep, c, 1_234, sh(2026, 12, 3, 11, 0)).await;
    payment(db, o2, c, 1_234, f.admin.user_id, sh(2026, 12, 31, 23, 59)).await;
    let m = live(db, rep, DEC).await.unwrap();
    assert_eq!(m.collected_fen, 10_001 + 1_234);
    assert_eq!(m.bonus.commission_fen, 750 + 75 + 37);
    assert_eq!(m.done.new_customers, 1);
    assert_eq!(m.bonus.new_customer_bonus_fen, 2_000);
    assert_eq!(m.total_fen, 750 + 75 + 37 + 2_000);
    // Nobody else is paid for the rep's orders.
    assert_eq!(
        live(db, f.agent.user_id, DEC)
            .await
            .unwrap()
            .bonus
            .commission_fen,
        0
    );
}

#[tokio::test]
async fn a_locked_month_does_not_change_when_late_records_arrive() {
    let f = floor().await;
    let db = &f.t.db;
    set_rules(
        db,
        &f.admin,
        &CommissionRules {
            default_rate_bp: 500,
            ..CommissionRules::default()
        },
        sh(2026, 12, 1, 9, 0),
    )
    .await
    .unwrap();
    let agent = f.agent.user_id;
    let lead = pool_lead(db, &f.agent, 1, None).await;
    call(
        db,
        &f.agent,
        lead,
        "connected",
        None,
        sh(2026, 12, 5, 10, 0),
    )
    .await;
    let c = customer(db, agent, sh(2026, 12, 5, 11, 0)).await;
    let o = order(db, agent, c, 100_000, sh(2026, 12, 5, 12, 0)).await;
    payment(db, o, c, 20_000, f.admin.user_id, sh(2026, 12, 6, 10, 0)).await;
    adjust(
        db,
        &f.sup,
        agent,
        DEC,
        -300,
        "迟到三次",
        sh(2026, 12, 31, 18, 0),
    )
    .await
    .unwrap();

    // Another team's supervisor may not lock this team; an agent may not lock at all.
    let e = lock_month(db, &f.other_sup, DEC, Some(f.team), sh(2027, 1, 2, 9, 0)).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let e = lock_month(db, &f.agent, DEC, None, sh(2027, 1, 2, 9, 0)).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let locked = lock_month(db, &f.sup, DEC, Some(f.team), sh(2027, 1, 2, 9, 0))
        .await
        .unwrap();
    assert!(locked.changed.contains(&agent));
    let before = one(db, &f.agent, agent, DEC).await.unwrap();
    assert!(before.locked.is_some());
    assert_eq!(before.done.calls, 1);
    assert_eq!(before.bonus.commission_fen, 1_000);
    assert_eq!(before.total_fen, 1_000 - 300);

    // Late records dated in December: a call and a payment recorded in January.
    call(
        db,
        &f.agent,
        lead,
        "connected",
        None,
        sh(2026, 12, 20, 10, 0),
    )
    .await;
    payment(db, o, c, 40_000, f.admin.user_id, sh(2026, 12, 21, 10, 0)).await;
    let after = one(db, &f.sup, agent, DEC).await.unwrap();
    assert_eq!(after.done.calls, 1);
    assert_eq!(after.bonus.commission_fen, 1_000);
    assert_eq!(after.total_fen, 700);
    let now = live(db, agent, DEC).await.unwrap();
    assert_eq!(now.done.calls, 2);
    assert_eq!(now.bonus.commission_fen, 3_000);
    // The year shows December locked and the other months live.
    let y = year(db, &f.agent, agent, 2026).await.unwrap();
    assert_eq!(y.locked_months, 1);
    assert!(y.months[11].locked.is_some() && y.months[10].locked.is_none());
    assert_eq!(y.months[11].total_fen, 700);

    // Adjusting a locked month is refused; only an admin unlocks, with a reason.
    let e = adjust(db, &f.sup, agent, DEC, 100, "补发", sh(2027, 1, 3, 9, 0)).await;
    assert!(
        matches!(e, Err(StoreError::Conflict("month_locked"))),
        "{e:?}"
    );
    let e = unlock_month(
        db,
        &f.sup,
        DEC,
        Some(f.team),
        None,
        "改",
        sh(2027, 1, 3, 9, 0),
    )
    .await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let e = unlock_month(
        db,
        &f.admin,
        DEC,
        None,
        Some(agent),
        " ",
        sh(2027, 1, 3, 9, 0),
    )
    .await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    unlock_month(
        db,
        &f.admin,
        DEC,
        None,
        Some(agent),
        "补录回款",
        sh(2027, 1, 3, 9, 0),
    )
    .await
    .unwrap();
    let reopened = one(db, &f.agent, agent, DEC).await.unwrap();
    assert!(reopened.locked.is_none());
    assert_eq!(reopened.bonus.commission_fen, 3_000);
    assert_eq!(reopened.total_fen, 2_700);
}

#[tokio::test]
async fn who_reads_and_adjusts_a_persons_month() {
    let f = floor().await;
    let db = &f.t.db;
    let agent = f.agent.user_id;
    let at = sh(2026, 12, 31, 18, 0);
    // A colleague and another team's supervisor do not see it.
    for v in [&f.rep, &f.other_sup, &f.other_agent] {
        let e = one(db, v, agent, DEC).await;
        assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    }
    // The agent reads but does not adjust their own.
    one(db, &f.agent, agent, DEC).await.unwrap();
    let e = adjust(db, &f.agent, agent, DEC, 500, "自评", at).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let e = adjust(db, &f.sup, agent, DEC, 500, "", at).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    let a = adjust(db, &f.admin, agent, DEC, 500, "季度之星", at)
        .await
        .unwrap();
    assert_eq!(a.bonus.adjustments_fen, 500);
    assert_eq!(a.adjustments[0].reason, "季度之星");
    // Tables: the supervisor their team, the agent themselves, the admin everyone.
    let sup_rows = month_table(db, &f.sup, DEC, None).await.unwrap();
    assert!(sup_rows.iter().any(|r| r.user_id == agent));
    assert!(!sup_rows.iter().any(|r| r.user_id == f.other_agent.user_id));
    let own = month_table(db, &f.agent, DEC, None).await.unwrap();
    assert_eq!(own.len(), 1);
    let e = month_table(db, &f.other_sup, DEC, Some(f.team)).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    let all = month_table(db, &f.admin, DEC, None).await.unwrap();
    assert!(all.iter().any(|r| r.user_id == f.other_agent.user_id));
    assert!(!all.iter().any(|r| r.user_id == f.finance.user_id));
}
