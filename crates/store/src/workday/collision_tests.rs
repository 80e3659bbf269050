//! 撞单 at a call, both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`): a valid
//! follow-up on a pool contact of a company a colleague owns records the call but leaves the
//! lead in the pool, opens one case however often it is called, and says who owns it; the
//! warning before the call names the owner, since when, the protection and the last calls.

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadline_domain::calling_hours::DEFAULT_TZ;
use leadline_domain::{LeadId, Role, Viewer};

use super::*;
use crate::db::test_db::TestDb;
use crate::ownership::claim::claim;
use crate::ownership::claim::tests::{pool_lead, user};
use crate::workday::{CallInput, Recorded, record_call};

fn sh(day: u32, hour: u32) -> DateTime<Utc> {
    DEFAULT_TZ
        .with_ymd_and_hms(2026, 12, day, hour, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn call(
    db: &Db,
    by: &Viewer,
    lead: LeadId,
    disposition: &str,
    at: DateTime<Utc>,
) -> Recorded {
    let input = CallInput {
        lead_id: lead,
        started_at: None,
        duration_s: 60,
        disposition: disposition.into(),
        intent: None,
        notes: "聊了采购计划".into(),
        next_revisit_at: None,
        script_id: None,
        request_id: None,
    };
    record_call(db, by, input, at).await.unwrap()
}

async fn owner_of(db: &Db, lead: LeadId) -> Option<UserId> {
    db_run!(db, |pool| sqlx::query_scalar(
        "SELECT owner_id FROM leads WHERE id = $1"
    )
    .bind(lead)
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn open_cases(db: &Db) -> Vec<(LeadId, LeadId, String, UserId, UserId)> {
    db_run!(db, |pool| sqlx::query_as(
        "SELECT lead_id, existing_lead_id, match_kind, existing_owner_id, new_owner_id \
         FROM collisions WHERE status = 'open' ORDER BY id"
    )
    .fetch_all(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn a_valid_follow_up_on_a_colleagues_customer_is_recorded_but_not_taken_and_opens_one_case() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    let owned = pool_lead(db, &admin, 1, Some("上海申达贸易有限公司")).await;
    let contact = pool_lead(db, &admin, 2, Some("申达贸易有限公司")).await;
    let free = pool_lead(db, &admin, 3, Some("远山物流")).await;
    let t0 = sh(7, 10);
    claim(db, &a, owned, t0).await.unwrap();
    call(db, &a, owned, "connected", t0 + Duration::minutes(1)).await;

    // Before b dials: the warning names a, since when, no protection and a's last call.
    let warned = before_call(db, &b, contact)
        .await
        .unwrap()
        .expect("a warning");
    assert_eq!(warned.match_kind, "company");
    assert_eq!(warned.owner_name, "agent_a");
    assert_eq!(warned.owned_since, t0);
    assert_eq!((warned.protected_until, warned.deal), (None, false));
    assert_eq!(warned.last_calls.len(), 1);
    assert_eq!(warned.last_calls[0].agent_name, "agent_a");
    assert_eq!(warned.last_calls[0].disposition, "connected");
    assert_eq!(warned.case_id, None, "looking opens no case");
    assert!(open_cases(db).await.is_empty());
    // a sees no warning on a lead of the customer a owns.
    assert!(before_call(db, &a, contact).await.unwrap().is_none());

    // b's valid follow-ups are recorded, the lead stays in the pool, one case is opened.
    let first = call(db, &b, contact, "connected", t0 + Duration::minutes(5)).await;
    let second = call(db, &b, contact, "call_back", t0 + Duration::minutes(9)).await;
    for r in [&first, &second] {
        assert!(!r.claimed);
        let c = r
            .collision
            .as_ref()
            .expect("the answer names the collision");
        assert_eq!(
            (
                c.match_kind,
                c.owner_id,
                c.owner_name.as_str(),
                c.owned_since
            ),
            ("company", a.user_id, "agent_a", t0)
        );
    }
    assert_ne!(first.call.id, second.call.id, "both calls are kept");
    assert_eq!(
        first.collision.as_ref().unwrap().case_id,
        second.collision.as_ref().unwrap().case_id
    );
    assert!(first.collision.as_ref().unwrap().case_id.is_some());
    assert_eq!(owner_of(db, contact).await, None, "b did not take it");
    assert_eq!(
        open_cases(db).await,
        [(contact, owned, "company".to_string(), a.user_id, b.user_id)]
    );
    let warned = before_call(db, &b, contact).await.unwrap().unwrap();
    assert_eq!(warned.case_id, first.collision.as_ref().unwrap().case_id);

    // A call that is no follow-up says nothing and opens nothing.
    let plain = call(db, &b, contact, "no_answer", t0 + Duration::minutes(12)).await;
    assert!(plain.collision.is_none());
    assert_eq!(open_cases(db).await.len(), 1);

    // A customer nobody owns is taken by a valid follow-up; the owner takes their own customer.
    let took = call(db, &b, free, "connected", t0 + Duration::minutes(15)).await;
    assert!(took.claimed && took.collision.is_none());
    assert_eq!(owner_of(db, free).await, Some(b.user_id));
    let mine = call(db, &a, contact, "connected", t0 + Duration::minutes(20)).await;
    assert!(mine.claimed && mine.collision.is_none());
    assert_eq!(owner_of(db, contact).await, Some(a.user_id));
    assert_eq!(open_cases(db).await.len(), 1);
}

#[tokio::test]
async fn opening_a_case_from_the_warning_opens_it_once_and_shows_the_protection() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    let owned = pool_lead(db, &admin, 1, Some("北京星河科技股份有限公司")).await;
    let contact = pool_lead(db, &admin, 2, Some("星河科技（北京）有限公司")).await;
    let lone = pool_lead(db, &admin, 3, None).await;
    let t0 = sh(7, 10);
    claim(db, &a, owned, t0).await.unwrap();
    let until = t0 + Duration::days(30);
    crate::db::sql::execute(
        db,
        "UPDATE leads SET protected_until = $2 WHERE id = $1",
        vec![
            crate::db::sql::Arg::I64(owned.0),
            crate::db::sql::Arg::Time(until),
        ],
    )
    .await
    .unwrap();
    let warned = before_call(db, &b, contact).await.unwrap().unwrap();
    assert_eq!(warned.protected_until, Some(until));
    assert!(warned.last_calls.is_empty());
    let case = open_case(db, &b, contact, t0)
        .await
        .unwrap()
        .expect("a case");
    assert_eq!(open_case(db, &b, contact, t0).await.unwrap(), Some(case));
    assert_eq!(open_cases(db).await.len(), 1);
    assert_eq!(open_case(db, &b, lone, t0).await.unwrap(), None);
    assert_eq!(open_cases(db).await.len(), 1);
}
