//! The countdown kept in `leads.reclaim_at`, on the backend the tests run on.

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadline_domain::{LeadId, Role, UserId};

use super::*;
use crate::auth::users::{self, NewUser};
use crate::db::sql::{Arg, execute};
use crate::db::test_db::TestDb;
use crate::ownership::events;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap()
}

async fn agent(db: &Db) -> UserId {
    users::create_user(
        db,
        &NewUser {
            username: "wang".into(),
            display_name: "王芳".into(),
            role: Role::Agent,
            team_id: None,
            password_hash: "unused".into(),
        },
        None,
    )
    .await
    .unwrap()
    .id
}

/// A lead owned by `owner` (or in the pool), created at `t0`, as a bulk path writes it: no start
/// of ownership yet.
async fn lead(db: &Db, id: i64, owner: Option<UserId>, company: Option<&str>) -> LeadId {
    execute(
        db,
        "INSERT INTO leads (id, name, company, status, owner_id, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, 'new', $4, $4, $5, $5)",
        vec![
            Arg::I64(id),
            Arg::Text(format!("客户{id}")),
            Arg::OptText(company.map(str::to_string)),
            Arg::OptI64(owner.map(|o| o.0)),
            Arg::Time(t0()),
        ],
    )
    .await
    .unwrap();
    LeadId(id)
}

async fn reclaim_at(db: &Db, id: LeadId) -> Option<DateTime<Utc>> {
    crate::leads::load(db, id)
        .await
        .unwrap()
        .ownership
        .reclaim_at
}

/// Out of the box a record owned since `t0` returns to the pool 15 days later; the start-up
/// pass sets it once, with a first line of history, and leaves pool leads alone.
#[tokio::test]
async fn records_owned_before_tracking_get_the_default_fifteen_days_once() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let me = agent(db).await;
    let owned = lead(db, 1, Some(me), None).await;
    let pool = lead(db, 2, None, None).await;
    assert_eq!(backfill(db, t0()).await.unwrap(), 1);
    assert_eq!(reclaim_at(db, owned).await, Some(t0() + Duration::days(15)));
    assert_eq!(reclaim_at(db, pool).await, None);
    let history = events::history(db, owned).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].action.as_str(), history[0].to_user),
        ("create", Some(me))
    );
    assert_eq!(backfill(db, t0()).await.unwrap(), 0, "done once");
    assert_eq!(events::history(db, owned).await.unwrap().len(), 1);
}

/// A valid follow-up restarts the countdown and forgets the warnings of the old one; a
/// protection holds the record until it ends; friends and family and a deal are never reclaimed.
#[tokio::test]
async fn the_countdown_follows_the_facts_it_reads() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let me = agent(db).await;
    let id = lead(db, 1, Some(me), Some("上海申达贸易有限公司")).await;
    backfill(db, t0()).await.unwrap();
    let rules = rules(db).await.unwrap();
    let set = |sql: &'static str, at: Option<DateTime<Utc>>| {
        execute(db, sql, vec![Arg::I64(id.0), Arg::OptTime(at)])
    };
    let refresh_now = || async {
        let rules = rules.clone();
        in_tx!(db, |tx| refresh(tx, &rules, id)).unwrap()
    };
    set(
        "UPDATE leads SET warned_days = 3 WHERE id = $1 AND $2 IS NULL",
        None,
    )
    .await
    .unwrap();
    let follow_up = t0() + Duration::days(10);
    set(
        "UPDATE leads SET last_valid_at = $2 WHERE id = $1",
        Some(follow_up),
    )
    .await
    .unwrap();
    let due = refresh_now().await.unwrap();
    assert_eq!(due.at, follow_up + Duration::days(15));
    assert_eq!(
        reclaim_at(db, id).await,
        Some(follow_up + Duration::days(15))
    );
    let warned: Option<i64> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT warned_days FROM leads WHERE id = 1"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(warned, None, "a new countdown is warned afresh");

    let protected = t0() + Duration::days(60);
    set(
        "UPDATE leads SET protected_until = $2 WHERE id = $1",
        Some(protected),
    )
    .await
    .unwrap();
    assert_eq!(refresh_now().await.map(|d| d.at), Some(protected));

    set(
        "UPDATE leads SET personal = TRUE WHERE id = $1 AND $2 IS NULL",
        None,
    )
    .await
    .unwrap();
    assert_eq!(refresh_now().await, None);
    assert_eq!(reclaim_at(db, id).await, None);

    set(
        "UPDATE leads SET personal = FALSE, deal_at = $2 WHERE id = $1",
        Some(t0()),
    )
    .await
    .unwrap();
    assert_eq!(refresh_now().await, None);
}
