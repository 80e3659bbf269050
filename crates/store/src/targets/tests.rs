//! Targets on both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`): a year set at once
//! reads back month by month; who may set and read them; a month's progress counts the month's
//! records, to the minute at both ends, for a person and for the team.

use leadline_domain::IntentLevel;
use leadline_domain::targets::{Figures, Month};

use super::progress::{self, month_unchecked};
use super::{Subject, set_year, year};
use crate::StoreError;
use crate::ownership::claim::tests::pool_lead;
use crate::work_reports::tests::{call, customer, floor, order, payment, sh};

fn grid(calls: i64, revenue_fen: i64) -> Vec<Figures> {
    (1..=12)
        .map(|m| Figures {
            calls: calls + m,
            revenue_fen,
            ..Figures::default()
        })
        .collect()
}

#[tokio::test]
async fn a_year_is_set_by_the_teams_supervisor_or_an_admin_and_refused_to_anyone_else() {
    let f = floor().await;
    let db = &f.t.db;
    let now = sh(2026, 12, 1, 9, 0);
    let agent = Subject::User(f.agent.user_id);
    let team = Subject::Team(f.team);
    let y = set_year(db, &f.sup, agent, 2027, &grid(1000, 8_000_000), now)
        .await
        .unwrap();
    assert_eq!(y.months.len(), 12);
    assert_eq!(y.months[2].figures.calls, 1003);
    assert_eq!(y.months[11].figures.revenue_fen, 8_000_000);
    set_year(db, &f.admin, team, 2027, &grid(5000, 0), now)
        .await
        .unwrap();
    set_year(db, &f.sup, team, 2027, &grid(6000, 0), now)
        .await
        .unwrap();

    // The agent reads their own and their team's, but sets neither.
    assert_eq!(
        year(db, &f.agent, agent, 2027).await.unwrap().months[0]
            .figures
            .calls,
        1001
    );
    assert_eq!(
        year(db, &f.agent, team, 2027).await.unwrap().months[0]
            .figures
            .calls,
        6001
    );
    for s in [agent, team] {
        let e = set_year(db, &f.agent, s, 2027, &grid(1, 0), now).await;
        assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
        // Another team's supervisor neither reads nor sets them.
        let e = set_year(db, &f.other_sup, s, 2027, &grid(1, 0), now).await;
        assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
        let e = year(db, &f.other_sup, s, 2027).await;
        assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    }
    // A colleague does not read the agent's.
    let e = year(db, &f.rep, agent, 2027).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    // Twelve months, none negative.
    let e = set_year(db, &f.sup, agent, 2027, &grid(1, 0)[..11], now).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    let mut bad = grid(1, 0);
    bad[4].orders = -1;
    let e = set_year(db, &f.sup, agent, 2027, &bad, now).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    let e = set_year(db, &f.sup, agent, 1999, &grid(1, 0), now).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    // Unchanged by the refusals.
    assert_eq!(
        year(db, &f.sup, agent, 2027).await.unwrap().months[4]
            .figures
            .orders,
        0
    );
}

#[tokio::test]
async fn a_months_progress_counts_that_months_records_for_the_person_and_the_team() {
    let f = floor().await;
    let db = &f.t.db;
    let a = &f.agent;
    let lead = pool_lead(db, a, 1, None).await;
    // 23:59 on 30 November and 00:00 on 1 January fall outside December.
    call(db, a, lead, "connected", None, sh(2026, 11, 30, 23, 59)).await;
    call(db, a, lead, "connected", None, sh(2026, 12, 1, 0, 0)).await;
    call(db, a, lead, "no_answer", None, sh(2026, 12, 15, 10, 0)).await;
    call(
        db,
        a,
        lead,
        "qualified",
        Some(IntentLevel::Positive),
        sh(2026, 12, 31, 23, 59),
    )
    .await;
    call(db, a, lead, "connected", None, sh(2027, 1, 1, 0, 0)).await;
    let rep_lead = pool_lead(db, &f.rep, 2, None).await;
    call(
        db,
        &f.rep,
        rep_lead,
        "connected",
        None,
        sh(2026, 12, 2, 10, 0),
    )
    .await;
    let c = customer(db, f.rep.user_id, sh(2026, 12, 3, 10, 0)).await;
    customer(db, f.rep.user_id, sh(2026, 11, 30, 10, 0)).await;
    let o = order(db, f.rep.user_id, c, 300_000, sh(2026, 12, 31, 23, 0)).await;
    order(db, f.rep.user_id, c, 1, sh(2027, 1, 1, 0, 0)).await;
    payment(
        db,
        o,
        c,
        100_000,
        f.finance.user_id,
        sh(2026, 12, 20, 10, 0),
    )
    .await;
    let mut targets = vec![Figures::default(); 12];
    targets[11] = Figures {
        calls: 6,
        qualified: 3,
        revenue_fen: 400_000,
        ..Figures::default()
    };
    let now = sh(2026, 12, 1, 9, 0);
    set_year(db, &f.admin, Subject::User(a.user_id), 2026, &targets, now)
        .await
        .unwrap();
    targets[11].calls = 10;
    set_year(db, &f.admin, Subject::Team(f.team), 2026, &targets, now)
        .await
        .unwrap();

    let dec = Month::new(2026, 12).unwrap();
    let p = month_unchecked(db, Subject::User(a.user_id), dec)
        .await
        .unwrap();
    assert_eq!(
        (p.done.calls, p.done.valid_conversations, p.done.qualified),
        (3, 2, 1)
    );
    let calls = &p.metrics[0];
    assert_eq!(
        (calls.target, calls.done, calls.percent, calls.bar),
        (6, 3, Some(50), 50)
    );
    let q = p.metrics.iter().find(|m| m.metric == "qualified").unwrap();
    assert_eq!(q.percent, Some(33));
    let orders = p.metrics.iter().find(|m| m.metric == "orders").unwrap();
    assert_eq!(orders.percent, None, "no target for orders");
    assert_eq!(p.with_target().len(), 3);

    let t = month_unchecked(db, Subject::Team(f.team), dec)
        .await
        .unwrap();
    assert_eq!(
        (t.done.calls, t.done.new_customers, t.done.orders),
        (4, 1, 1)
    );
    assert_eq!(
        (t.done.revenue_fen, t.done.collections_fen),
        (300_000, 100_000)
    );
    let rev = t
        .metrics
        .iter()
        .find(|m| m.metric == "revenue_fen")
        .unwrap();
    assert_eq!(rev.percent, Some(75));
    let calls = &t.metrics[0];
    assert_eq!(calls.percent, Some(40));
    // January has its own records and no target.
    let jan = month_unchecked(db, Subject::User(a.user_id), Month::new(2027, 1).unwrap())
        .await
        .unwrap();
    assert_eq!(jan.done.calls, 1);
    assert!(!jan.has_target());
    // The checked read refuses another team's supervisor.
    let e = progress::month(db, &f.other_sup, Subject::Team(f.team), dec).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
}
