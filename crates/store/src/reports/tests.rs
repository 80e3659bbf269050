//! The customer reports on both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`), with
//! the organisation in New York: customers opened either side of a month's and a year's end
//! count in the zone's month, money exact to the 分, and who may read which rows.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use leadline_domain::call_stats::DateRange;
use leadline_domain::customer_reports::{NewGrouping, Origin};
use leadline_domain::{Role, UserId, Viewer};

use super::new_customers::{NewCustomersQuery, NewKey, new_customers};
use super::yearly::customers_yearly;
use crate::call_stats::{org_zone, set_org_zone};
use crate::customers::convert;
use crate::db::sql::Arg;
use crate::ownership::claim::tests::{pool_lead, user};
use crate::work_reports::tests::{Floor, customer, floor, order, payment};
use crate::{Db, StoreError};

/// A wall-clock time in New York, as UTC.
fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::America::New_York
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn december(grouping: NewGrouping) -> NewCustomersQuery {
    NewCustomersQuery {
        range: DateRange::new(day("2026-12-01"), day("2026-12-31")).unwrap(),
        grouping,
        team: None,
        rep: None,
    }
}

/// The floor with a second sales rep in team 二组, the organisation in New York.
async fn new_york() -> (Floor, Viewer) {
    let f = floor().await;
    let db = &f.t.db;
    let team_b = f.other_sup.supervised_teams[0];
    let rep_b = user(db, "rep_b", Role::Sales, Some(team_b)).await;
    set_org_zone(
        db,
        f.admin.user_id,
        "America/New_York",
        ny(2026, 11, 1, 9, 0),
    )
    .await
    .unwrap();
    (f, rep_b)
}

async fn report(
    db: &Db,
    v: &Viewer,
    q: &NewCustomersQuery,
) -> crate::Result<super::new_customers::NewCustomersReport> {
    new_customers(db, v, q, org_zone(db).await.unwrap()).await
}

fn rep_row(id: UserId) -> impl Fn(&super::new_customers::NewRow) -> bool {
    move |r| matches!(&r.key, NewKey::Rep { rep_id: Some(u), .. } if *u == id)
}

#[tokio::test]
async fn new_customers_count_in_the_zones_month_with_their_orders_to_the_fen() {
    let (f, rep_b) = new_york().await;
    let db = &f.t.db;
    let (agent, rep) = (&f.agent, &f.rep);
    // 23:30 on 30 November in New York (already 1 December in UTC and Shanghai): November.
    let l1 = pool_lead(db, agent, 1, None).await;
    let nov = convert(db, agent, l1, Some(rep.user_id), ny(2026, 11, 30, 23, 30))
        .await
        .unwrap()
        .customer_id;
    // Handed over by the agent just after midnight on 1 December.
    let l2 = pool_lead(db, agent, 2, None).await;
    let handed = convert(db, agent, l2, Some(rep.user_id), ny(2026, 12, 1, 0, 10))
        .await
        .unwrap()
        .customer_id;
    // Converted by the rep at 23:50 on New Year's Eve (already 2027 in Shanghai).
    let l3 = pool_lead(db, rep, 3, None).await;
    let own = convert(db, rep, l3, None, ny(2026, 12, 31, 23, 50))
        .await
        .unwrap()
        .customer_id;
    // Entered without a lead for the other team's rep; one on New Year's Day does not count.
    let direct = customer(db, rep_b.user_id, ny(2026, 12, 15, 12, 0)).await;
    customer(db, rep_b.user_id, ny(2027, 1, 1, 0, 0)).await;
    // Orders and payments inside December count; those after it, or of November's customer, not.
    let o = order(db, rep.user_id, handed.0, 123_456, ny(2026, 12, 20, 10, 0)).await;
    order(db, rep.user_id, handed.0, 99, ny(2027, 1, 1, 0, 1)).await;
    order(db, rep.user_id, own.0, 100_001, ny(2026, 12, 31, 23, 55)).await;
    order(db, rep.user_id, nov.0, 777, ny(2026, 12, 5, 10, 0)).await;
    payment(
        db,
        o,
        handed.0,
        50_000,
        f.finance.user_id,
        ny(2026, 12, 21, 9, 0),
    )
    .await;
    payment(db, o, handed.0, 1, f.finance.user_id, ny(2027, 1, 1, 0, 0)).await;

    let r = report(db, &f.admin, &december(NewGrouping::Rep))
        .await
        .unwrap();
    assert_eq!(r.zone, "America/New_York");
    assert_eq!(r.totals.customers, 3);
    assert_eq!(r.rows.len(), 2);
    let mine = r.rows.iter().find(|x| rep_row(rep.user_id)(x)).unwrap();
    let f1 = mine.figures;
    assert_eq!(
        (f1.customers, f1.from_agent, f1.own_lead, f1.direct),
        (2, 1, 1, 0)
    );
    assert_eq!((f1.ordered, f1.orders), (2, 2));
    assert_eq!(f1.revenue_fen, 223_457);
    assert_eq!(f1.collected_fen, 50_000);
    let theirs = r.rows.iter().find(|x| rep_row(rep_b.user_id)(x)).unwrap();
    assert_eq!((theirs.figures.customers, theirs.figures.direct), (1, 1));
    assert_eq!(theirs.figures.revenue_fen, 0);
    let h = r
        .customers
        .iter()
        .find(|c| c.customer_id == handed)
        .unwrap();
    assert_eq!(h.origin, Origin::FromAgent);
    assert_eq!(h.opened_on, day("2026-12-01"));
    assert_eq!(h.first_order_on, Some(day("2026-12-20")));
    let o3 = r.customers.iter().find(|c| c.customer_id == own).unwrap();
    assert_eq!(
        (o3.origin, o3.opened_on),
        (Origin::OwnLead, day("2026-12-31"))
    );
    assert!(r.customers.iter().any(|c| c.customer_id.0 == direct));

    let by_team = report(db, &f.admin, &december(NewGrouping::Team))
        .await
        .unwrap();
    let teams: Vec<(Option<String>, i64)> = by_team
        .rows
        .iter()
        .map(|r| match &r.key {
            NewKey::Team { team_name, .. } => (team_name.clone(), r.figures.customers),
            k => panic!("{k:?}"),
        })
        .collect();
    assert_eq!(
        teams,
        vec![(Some("一组".into()), 2), (Some("二组".into()), 1)]
    );
    let by_month = report(db, &f.admin, &december(NewGrouping::Month))
        .await
        .unwrap();
    assert_eq!(by_month.rows.len(), 1);
    assert_eq!(
        by_month.rows[0].key,
        NewKey::Month {
            month: day("2026-12-01")
        }
    );

    // In Shanghai the same instants move: November's conversion is 1 December there, the
    // New Year's Eve one is already January.
    set_org_zone(db, f.admin.user_id, "Asia/Shanghai", ny(2027, 1, 2, 9, 0))
        .await
        .unwrap();
    let sh = report(db, &f.admin, &december(NewGrouping::Rep))
        .await
        .unwrap();
    let ids: Vec<i64> = sh.customers.iter().map(|c| c.customer_id.0).collect();
    assert!(ids.contains(&nov.0) && !ids.contains(&own.0), "{ids:?}");
    assert_eq!(sh.totals.revenue_fen, 123_456 + 777);
}

#[tokio::test]
async fn each_reads_only_the_rows_of_their_own_people() {
    let (f, rep_b) = new_york().await;
    let db = &f.t.db;
    let l = pool_lead(db, &f.agent, 1, None).await;
    convert(db, &f.agent, l, Some(f.rep.user_id), ny(2026, 12, 2, 10, 0))
        .await
        .unwrap();
    customer(db, rep_b.user_id, ny(2026, 12, 3, 10, 0)).await;
    let q = december(NewGrouping::Rep);
    // The rep: their own row only, never the other rep's.
    let mine = report(db, &f.rep, &q).await.unwrap();
    assert_eq!(mine.rows.len(), 1);
    assert!(rep_row(f.rep.user_id)(&mine.rows[0]));
    assert_eq!(mine.customers.len(), 1);
    let theirs = NewCustomersQuery {
        rep: Some(rep_b.user_id),
        ..december(NewGrouping::Rep)
    };
    let e = report(db, &f.rep, &theirs).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    let e = customers_yearly(db, &f.rep, 2026, Some(rep_b.user_id), chrono_tz::UTC).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    // The supervisor of 一组 reads 一组, not 二组.
    let sup = report(db, &f.sup, &q).await.unwrap();
    assert_eq!(sup.totals.customers, 1);
    let other_team = NewCustomersQuery {
        team: f.other_sup.supervised_teams.first().copied(),
        ..december(NewGrouping::Rep)
    };
    let e = report(db, &f.sup, &other_team).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    // Finance and the admin read everyone; an agent nothing.
    assert_eq!(
        report(db, &f.finance, &q).await.unwrap().totals.customers,
        2
    );
    assert_eq!(report(db, &f.admin, &q).await.unwrap().totals.customers, 2);
    let e = report(db, &f.agent, &q).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let e = customers_yearly(db, &f.agent, 2026, None, chrono_tz::UTC).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let e = customers_yearly(db, &f.admin, 1999, None, chrono_tz::UTC).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
}

async fn grade(db: &Db, customer: i64, g: &str) {
    crate::pipeline::tests::insert(
        db,
        "UPDATE customers SET grade = $2 WHERE id = $1 RETURNING id",
        vec![Arg::I64(customer), Arg::Text(g.into())],
    )
    .await;
}

#[tokio::test]
async fn the_yearly_analysis_sums_each_grade_month_rep_and_band_in_the_zones_year() {
    let (f, rep_b) = new_york().await;
    let db = &f.t.db;
    let (rep, fin) = (f.rep.user_id, f.finance.user_id);
    let a = customer(db, rep, ny(2025, 5, 1, 10, 0)).await;
    grade(db, a, "A").await;
    let b = customer(db, rep_b.user_id, ny(2026, 6, 1, 10, 0)).await;
    grade(db, b, "B").await;
    let ungraded = customer(db, rep, ny(2026, 2, 1, 10, 0)).await;
    // Opened at New Year in New York: not a customer of 2026.
    customer(db, rep, ny(2027, 1, 1, 0, 0)).await;
    // The last minute of March is Q1; 23:30 on New Year's Eve is December (January in UTC).
    let o = order(db, rep, a, 1_000_000, ny(2026, 3, 31, 23, 59)).await;
    order(db, rep, a, 5, ny(2026, 12, 31, 23, 30)).await;
    order(db, rep, a, 7, ny(2027, 1, 1, 0, 0)).await;
    order(db, rep, a, 11, ny(2025, 12, 31, 23, 59)).await;
    payment(db, o, a, 400_000, fin, ny(2026, 7, 1, 0, 0)).await;
    payment(db, o, a, 3, fin, ny(2026, 6, 30, 23, 59)).await;
    let ob = order(db, rep_b.user_id, b, 60_000_000, ny(2026, 6, 15, 10, 0)).await;
    payment(db, ob, b, 20_000_000, fin, ny(2026, 12, 31, 23, 59)).await;

    let zone = org_zone(db).await.unwrap();
    let r = customers_yearly(db, &f.admin, 2026, None, zone)
        .await
        .unwrap();
    assert_eq!(r.totals.customers, 3);
    assert_eq!(r.totals.ordered, 2);
    assert_eq!(r.totals.revenue_fen, 61_000_005);
    assert_eq!(r.totals.collected_fen, 20_400_003);
    let grades: Vec<Option<&str>> = r.by_grade.iter().map(|g| g.grade.as_deref()).collect();
    assert_eq!(grades, vec![Some("A"), Some("B"), None]);
    let ga = &r.by_grade[0].figures;
    assert_eq!(ga.revenue_fen, 1_000_005);
    assert_eq!(ga.revenue_by_month[2], 1_000_000);
    assert_eq!(ga.revenue_by_month[11], 5);
    assert_eq!(ga.revenue_by_quarter, [1_000_000, 0, 0, 5]);
    assert_eq!(ga.collected_by_quarter, [0, 3, 400_000, 0]);
    assert_eq!(r.by_grade[1].figures.collected_by_month[11], 20_000_000);
    assert_eq!(
        (
            r.by_grade[2].figures.customers,
            r.by_grade[2].figures.revenue_fen
        ),
        (1, 0)
    );
    // Bands: nothing ordered, 1万–5万 yuan, and 50万 yuan and more.
    let bands: Vec<(usize, i64, i64)> = r
        .bands
        .iter()
        .filter(|b| b.customers > 0)
        .map(|b| (b.band, b.customers, b.revenue_fen))
        .collect();
    assert_eq!(
        bands,
        vec![(0, 1, 0), (2, 1, 1_000_005), (5, 1, 60_000_000)]
    );
    // By rep: the rep's two customers (A and ungraded), the other rep's one.
    let mine = r.by_rep.iter().find(|x| x.rep_id == Some(rep)).unwrap();
    assert_eq!((mine.figures.customers, mine.grades.len()), (2, 2));
    // The rep alone: only their own customers.
    let own = customers_yearly(db, &f.rep, 2026, None, zone)
        .await
        .unwrap();
    assert_eq!(own.by_rep.len(), 1);
    assert_eq!(own.totals.revenue_fen, 1_000_005);
    assert!(own.by_grade.iter().all(|g| g.grade.as_deref() != Some("B")));
    let _ = ungraded;
}
