//! Named pools open to chosen teams, the masked phone, and the pool statistics from the
//! ownership history. Both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`).

use chrono::{Duration, NaiveDate, TimeZone};
use leadline_domain::Role;
use leadline_domain::calling_hours::DEFAULT_TZ;

use super::*;
use crate::db::test_db::TestDb;
use crate::ownership::claim::tests::{pool_lead, user};
use crate::ownership::claim::{claim, release};
use crate::ownership::pool_stats::stats;

#[test]
fn a_masked_phone_hides_the_four_digits_before_the_last_four() {
    assert_eq!(masked("13812345678"), "138****5678");
    assert_eq!(masked("+8613812345678"), "+86138****5678");
    assert_eq!(masked("02112345678"), "021****5678");
    assert_eq!(masked("12345"), "***45");
    assert_eq!(masked(""), "");
}

#[tokio::test]
async fn a_named_pool_is_seen_by_its_teams_only_and_cannot_be_deleted_while_it_holds_leads() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let now = crate::now();
    let admin = user(db, "boss", Role::Admin, None).await;
    for (id, name) in [(1, "A组"), (2, "B组")] {
        crate::db::sql::execute(
            db,
            "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)",
            vec![Arg::I64(id), Arg::Text(name.into()), Arg::Time(now)],
        )
        .await
        .unwrap();
    }
    let pool = create(db, admin.user_id, "华东公海", &[TeamId(1)], now)
        .await
        .unwrap();
    assert!(matches!(
        create(db, admin.user_id, "华东公海", &[], now).await,
        Err(StoreError::AlreadyExists("pool"))
    ));
    let a = user(db, "agent_a", Role::Agent, Some(TeamId(1))).await;
    let b = user(db, "agent_b", Role::Agent, Some(TeamId(2))).await;
    let lead = pool_lead(db, &admin, 1, None).await;
    // Put it in the named pool by releasing it there.
    claim(db, &admin, lead, now).await.unwrap();
    release(db, &admin, lead, "分到华东", Some(pool), now)
        .await
        .unwrap();
    let names = |v: Vec<PoolSummary>| -> Vec<(Option<String>, i64)> {
        v.into_iter().map(|p| (p.name, p.leads)).collect()
    };
    assert_eq!(
        names(list_for(db, &a).await.unwrap()),
        [(None, 0), (Some("华东公海".into()), 1)]
    );
    assert_eq!(names(list_for(db, &b).await.unwrap()), [(None, 0)]);
    assert_eq!(leads_in(db, &a, Some(pool), None).await.unwrap().len(), 1);
    assert!(matches!(
        leads_in(db, &b, Some(pool), None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        claim(db, &b, lead, now).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        delete(db, admin.user_id, pool, now).await,
        Err(StoreError::Conflict("pool_not_empty"))
    ));
    claim(db, &a, lead, now).await.unwrap();
    // Owned from the pool, it is still its home.
    assert!(matches!(
        delete(db, admin.user_id, pool, now).await,
        Err(StoreError::Conflict("pool_not_empty"))
    ));
    release(db, &a, lead, "换回公海", None, now).await.unwrap();
    // Back home: the named pool, not the default.
    assert_eq!(leads_in(db, &a, Some(pool), None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn pool_leads_show_a_masked_phone_to_agents_when_the_setting_is_on() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    pool_lead(db, &admin, 12_345_678, None).await;
    let phone = |v: Vec<PoolLead>| v[0].phone.clone().unwrap();
    assert_eq!(
        phone(leads_in(db, &a, None, None).await.unwrap()),
        "13812345678"
    );
    set_mask_phone(db, admin.user_id, true).await.unwrap();
    assert_eq!(
        phone(leads_in(db, &a, None, None).await.unwrap()),
        "138****5678"
    );
    assert_eq!(
        phone(leads_in(db, &admin, None, None).await.unwrap()),
        "13812345678"
    );
}

#[tokio::test]
async fn the_statistics_count_what_went_in_and_out_per_day_person_and_pool() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let day = |d: u32| {
        DEFAULT_TZ
            .with_ymd_and_hms(2026, 12, d, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let x = pool_lead(db, &admin, 1, None).await;
    let y = pool_lead(db, &admin, 2, None).await;
    claim(db, &a, x, day(1)).await.unwrap();
    claim(db, &a, y, day(1) + Duration::hours(1)).await.unwrap();
    release(db, &a, x, "无意向", None, day(2)).await.unwrap();
    let from = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let s = stats(db, from, from.succ_opt().unwrap()).await.unwrap();
    assert_eq!((s.total.claimed, s.total.put_in), (2, 1));
    let days: Vec<(String, i64, i64)> = s
        .by_day
        .iter()
        .map(|d| (d.day.to_string(), d.flow.claimed, d.flow.put_in))
        .collect();
    assert_eq!(
        days,
        [("2026-12-01".into(), 2, 0), ("2026-12-02".into(), 0, 1)]
    );
    assert_eq!(s.by_person.len(), 1);
    assert_eq!(s.by_person[0].name, "agent_a");
    assert_eq!(s.by_pool[0].pool_id, None);
    assert!(stats(db, from, from.pred_opt().unwrap()).await.is_err());
}
