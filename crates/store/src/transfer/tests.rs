//! A backup taken while twenty agents record calls holds every call committed before it
//! began, and restores into an empty database: SQLite, and PostgreSQL when
//! `LEADLINE_TEST_POSTGRES_URL` names a server (skipped otherwise).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{Duration, TimeZone, Utc};
use leadline_domain::{LeadDraft, LeadId, Role, Viewer};

use crate::Db;
use crate::auth::users::create_team;
use crate::db::test_db::{TestDb, postgres_url};
use crate::leads::{self, CreateOptions};
use crate::ownership::claim::tests::user;
use crate::workday::{CallInput, record_call};

const AGENTS: usize = 20;
/// Calls each agent records before the backup starts, and after it has finished.
const BEFORE: usize = 3;
const AFTER: usize = 2;

async fn floor(db: &Db) -> Vec<(Viewer, LeadId)> {
    let team = create_team(db, "一组", None).await.unwrap();
    let mut agents = Vec::new();
    for n in 0..AGENTS {
        let a = user(db, &format!("agent{n}"), Role::Agent, Some(team)).await;
        let draft = LeadDraft {
            name: format!("客户{n}"),
            phones: vec![format!("139{n:08}")],
            ..LeadDraft::default()
        };
        let lead = leads::create(db, &a, &draft, &CreateOptions::default())
            .await
            .unwrap()
            .id;
        agents.push((a, lead));
    }
    agents
}

/// Runs `backup` while the agents record calls; returns the ids of the calls committed before
/// the backup began and of every call recorded.
async fn backup_while_recording<F>(db: &Db, backup: F) -> (BTreeSet<i64>, BTreeSet<i64>)
where
    F: std::future::Future<Output = ()>,
{
    let agents = floor(db).await;
    let began = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicUsize::new(0));
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap();
    let mut tasks = Vec::new();
    for (n, (agent, lead)) in agents.into_iter().enumerate() {
        let (db, began, finished, ready) =
            (db.clone(), began.clone(), finished.clone(), ready.clone());
        tasks.push(tokio::spawn(async move {
            let (mut before, mut all) = (Vec::new(), Vec::new());
            let mut after_backup = 0;
            for i in 0.. {
                let input = CallInput {
                    lead_id: lead,
                    started_at: Some(now - Duration::minutes((n * 7 + i) as i64)),
                    duration_s: 30 + i as i64,
                    disposition: ["connected", "no_answer", "busy"][i % 3].into(),
                    intent: None,
                    notes: format!("第{i}次通话"),
                    next_revisit_at: None,
                    script_id: None,
                    request_id: None,
                };
                let id = record_call(&db, &agent, input, now).await.unwrap().call.id;
                // Committed (record_call has returned) while the backup had not begun.
                if !began.load(Ordering::SeqCst) {
                    before.push(id);
                }
                all.push(id);
                if i + 1 == BEFORE {
                    ready.fetch_add(1, Ordering::SeqCst);
                }
                if finished.load(Ordering::SeqCst) {
                    after_backup += 1;
                    if after_backup >= AFTER {
                        break;
                    }
                }
                tokio::task::yield_now().await;
            }
            (before, all)
        }));
    }
    while ready.load(Ordering::SeqCst) < AGENTS {
        tokio::task::yield_now().await;
    }
    began.store(true, Ordering::SeqCst);
    backup.await;
    finished.store(true, Ordering::SeqCst);
    let (mut before, mut all) = (BTreeSet::new(), BTreeSet::new());
    for t in tasks {
        let (b, a) = t.await.unwrap();
        before.extend(b);
        all.extend(a);
    }
    (before, all)
}

async fn call_ids(db: &Db) -> BTreeSet<i64> {
    crate::db_run!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT id FROM calls"
    )
    .fetch_all(pool)
    .await
    .unwrap())
    .into_iter()
    .collect()
}

fn assert_restored(restored: &BTreeSet<i64>, before: &BTreeSet<i64>, all: &BTreeSet<i64>) {
    assert!(before.len() >= AGENTS * BEFORE, "calls before the backup");
    let missing: Vec<_> = before.difference(restored).collect();
    assert!(
        missing.is_empty(),
        "calls committed before the backup are missing: {missing:?}"
    );
    assert!(
        restored.is_subset(all),
        "the backup holds only calls that were recorded"
    );
    assert!(
        restored.len() < all.len(),
        "calls after the backup are not in it"
    );
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "leadline-{name}-{}-{}",
        std::process::id(),
        &crate::auth::random_secret()[..10]
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_backup_taken_while_agents_record_calls_restores_every_call_committed_before_it() {
    let live = TestDb::sqlite().await.unwrap();
    let file = temp_path("backup.db");
    let (before, all) = backup_while_recording(&live.db, async {
        let counts = super::sqlite_backup(&live.db, &file).await.unwrap();
        assert_eq!(counts["users"], AGENTS as u64);
    })
    .await;

    assert!(
        super::sqlite_backup(&live.db, &file).await.is_err(),
        "a backup never overwrites a file"
    );
    let target = temp_path("restored.db");
    super::sqlite_restore(&file, &target).await.unwrap();
    let restored = Db::connect(&target.to_string_lossy()).await.unwrap();
    restored.migrate().await.unwrap();
    assert_restored(&call_ids(&restored).await, &before, &all);
    restored.close().await;

    // A restore into a database holding a floor is refused, and leaves it as it was.
    let refused = super::sqlite_restore(&file, &target).await;
    assert!(
        matches!(refused, Err(super::TransferError::NotEmpty(_))),
        "{refused:?}"
    );
    // A damaged backup fails its check.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    let damaged = temp_path("damaged.db");
    std::fs::write(&damaged, bytes).unwrap();
    assert!(super::sqlite_verify_file(&damaged).await.is_err());
    for f in [&file, &damaged] {
        let _ = std::fs::remove_file(f);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let cut = base.rfind('/').expect("a database in the URL");
    let mut out = format!("{}/{name}", &base[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_backup_taken_while_agents_record_calls_restores_every_call_committed_before_it()
{
    let Some(url) = postgres_url() else { return };
    let live = TestDb::postgres(&url).await.unwrap();
    let file = temp_path("backup.pgdump");
    let (before, all) = backup_while_recording(&live.db, async {
        let counts = super::pg_backup(&live.db, &url, &file).await.unwrap();
        assert_eq!(counts["users"], AGENTS as u64);
    })
    .await;
    let schema: String = match &live.db {
        Db::Postgres(pool) => sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Sqlite(_) => unreachable!("a PostgreSQL test database"),
    };

    // An empty database of its own, as an operator would create for a restore.
    let name = format!("r_{}", &crate::auth::random_secret()[..12].to_lowercase());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let target_url = with_database(&url, &name);
    let opts = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&target_url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let target = Db::connect_postgres(opts).await.unwrap();
    let result = async {
        super::pg_restore(&target, &target_url, &file)
            .await
            .unwrap();
        target.migrate().await.unwrap();
        assert_restored(&call_ids(&target).await, &before, &all);
        let again = super::pg_restore(&target, &target_url, &file).await;
        assert!(
            matches!(again, Err(super::TransferError::NotEmpty(_))),
            "{again:?}"
        );
    };
    result.await;
    target.close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await;
    admin.close().await;
    let _ = std::fs::remove_file(&file);
}
