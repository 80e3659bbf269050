//! The demo seed, on a freshly migrated database of each backend.

use std::str::FromStr;

use super::*;

/// Seeds a freshly migrated database and checks what the demo promises.
async fn seed_and_check(db: &Db) {
    let started = std::time::Instant::now();
    let summary = seed(db).await.expect("seeding an empty database");
    eprintln!(
        "demo seed on {:?}: {summary:?} in {:.2?}",
        db.backend(),
        started.elapsed()
    );
    assert_eq!(summary.users, 15);
    assert_eq!(users::user_count(db).await.unwrap(), 15);
    assert_eq!(users::list_teams(db).await.unwrap().len(), 2);
    assert_eq!(users::team_supervisors(db).await.unwrap().len(), 2);
    // Four: the e-mail is a lead field of its own.
    assert_eq!(custom_fields::list(db).await.unwrap().len(), 4);

    let (agent, hash) = users::find_for_login(db, "agent1")
        .await
        .unwrap()
        .expect("agent1 exists");
    assert_eq!(agent.role, Role::Agent);
    assert!(agent.team_id.is_some());
    assert!(users::verify_password(&hash, DEMO_PASSWORD));
    let (admin, hash) = users::find_for_login(db, "admin").await.unwrap().unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert!(users::verify_password(&hash, DEMO_PASSWORD));

    let live = leads::count_live(db).await.unwrap();
    assert!((1_900..=2_100).contains(&live), "{live} leads");
    assert_eq!(live as usize, summary.leads);
    let (pool, phoneless, calls): (i64, i64, i64) = db_run!(db, |pool| {
        let q = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool);
        (
            q("SELECT COUNT(*) FROM leads WHERE owner_id IS NULL")
                .await
                .unwrap(),
            q("SELECT COUNT(*) FROM leads l WHERE NOT EXISTS \
               (SELECT 1 FROM lead_phones p WHERE p.lead_id = l.id)")
            .await
            .unwrap(),
            q("SELECT COUNT(*) FROM calls").await.unwrap(),
        )
    });
    assert!(pool > 0, "some leads are in the pool");
    assert_eq!(phoneless, 0, "every lead has a phone");
    assert!(calls > 0);
    assert_eq!(calls as usize, summary.calls);

    // Ownership (issue 22): the 15-day default, countdowns down to a day, a named pool, one
    // open 撞单 and one decided with 30% of 4,000.00 元 on each side.
    let (rules, never, named, open, penalties): (i64, i64, i64, i64, i64) = db_run!(db, |pool| {
        let q = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool);
        (
                q("SELECT COUNT(*) FROM reclaim_rules WHERE basis = 'no_valid_follow_up' AND days = 15")
                    .await
                    .unwrap(),
                q("SELECT COUNT(*) FROM leads WHERE owner_id IS NOT NULL AND reclaim_at IS NULL")
                    .await
                    .unwrap(),
                q("SELECT COUNT(*) FROM leads WHERE pool_id IS NOT NULL AND owner_id IS NULL")
                    .await
                    .unwrap(),
                q("SELECT COUNT(*) FROM collisions WHERE status = 'open'")
                    .await
                    .unwrap(),
                q("SELECT CAST(COALESCE(SUM(penalty_fen), 0) AS BIGINT) FROM collision_ledger")
                    .await
                    .unwrap(),
            )
    });
    assert_eq!(rules, 1);
    assert_eq!(never, 0, "every owned demo lead has a countdown");
    assert!(named > 0, "华东公海 has leads");
    assert!(open >= 1);
    assert_eq!(penalties, 2 * 120_000);
    let due: Vec<chrono::DateTime<chrono::Utc>> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT reclaim_at FROM leads WHERE reclaim_at IS NOT NULL")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let left: Vec<i64> = due
        .iter()
        .map(|at| leadline_domain::ownership::days_left(*at, now()))
        .collect();
    assert!(left.iter().any(|d| *d <= 2), "some countdowns are close");
    assert!(left.iter().any(|d| *d >= 14), "and some just started");

    crate::demo::customers::tests::check(db).await;

    assert!(seed(db).await.is_err(), "a second seed is refused");
}

#[tokio::test]
async fn demo_seeds_an_empty_database_once() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path =
        std::env::temp_dir().join(format!("leadline-demo-{}-{nanos}.db", std::process::id()));
    let url = path.to_string_lossy().into_owned();
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    seed_and_check(&db).await;
    db.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{url}{suffix}"));
    }

    let Ok(pg_url) = std::env::var("LEADLINE_TEST_POSTGRES_URL") else {
        return;
    };
    let schema = format!("demo_test_{}", &crate::auth::random_secret()[..12]);
    let admin = sqlx::PgPool::connect(&pg_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let opts = sqlx::postgres::PgConnectOptions::from_str(&pg_url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let db = Db::connect_postgres(opts).await.unwrap();
    db.migrate().await.unwrap();
    seed_and_check(&db).await;
    db.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}
