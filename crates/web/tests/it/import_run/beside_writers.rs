//! An import beside other writers: short batches while agents or other connections write, whole
//! batches when only the reminder worker polls, and no row lost.

use leadline_engine::import_run::{self, Assign};
use leadline_store::imports::{ImportJob, OnDuplicate};
use leadline_store::{Db, db_run};

use super::{Fixture, counts, people_csv, scalar};

/// Imports 3,000 people (phones starting `prefix`) from `name` while `write(db, n)` runs every
/// 3 ms (from 50 ms before the import until it is done): the job, the rows done after each
/// batch, and how many writes ran. Beside writers, the first batch is cut short (500 rows) and
/// later ones to what fits in a few tens of milliseconds, which on a fast machine may be all the
/// rest: more than one batch is what shows the cut.
async fn import_beside<W, Fut>(
    f: &Fixture,
    name: &str,
    prefix: &str,
    write: W,
) -> (ImportJob, Vec<i64>, i64)
where
    W: Fn(Db, i64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let rows: Vec<String> = (0..3_000)
        .map(|i| format!("客户{i},{prefix}{i:08},公司{i},上海,,"))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let path = f.file(name, &people_csv(&rows));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = tokio::spawn({
        let (db, stop) = (f.db().clone(), stop.clone());
        async move {
            let mut writes = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                write(db.clone(), writes).await;
                writes += 1;
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
            writes
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let job = f
        .start(&path, OnDuplicate::Skip, Assign::Pool)
        .await
        .unwrap();
    let mut steps = Vec::new();
    let job = import_run::run(f.db(), job.id, |p| steps.push(p.rows_done))
        .await
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert_eq!(counts(&job), [3_000, 0, 0, 0, 0], "{job:?}");
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 3_000);
    assert_eq!(
        scalar(f.db(), "SELECT COUNT(DISTINCT e164) FROM lead_phones").await,
        3_000
    );
    assert_eq!(steps.last(), Some(&3_000));
    (job, steps, writes)
}

/// While agents write beside it (here: a write every few milliseconds), an import on SQLite,
/// where every write waits for the batch being written, commits in short batches; every row is
/// still imported exactly once. PostgreSQL writers do not wait for each other: its batches stay
/// whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_beside_working_agents_commits_short_batches_and_loses_no_row() {
    let f = Fixture::new().await;
    let (_, steps, writes) = import_beside(&f, "big.csv", "139", |db, n| async move {
        leadline_store::db::sql::execute(
            &db,
            "INSERT INTO login_failures (username, client, at) VALUES ($1, 'agent', $2)",
            vec![
                leadline_store::db::sql::Arg::Text(format!("agent{n}")),
                leadline_store::db::sql::Arg::Time(leadline_store::now()),
            ],
        )
        .await
        .unwrap();
    })
    .await;
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM login_failures WHERE client = 'agent'"
        )
        .await,
        writes
    );
    match f.db().backend() {
        leadline_store::Backend::Sqlite => {
            assert!(steps.len() > 1, "batches while agents write: {steps:?}")
        }
        leadline_store::Backend::Postgres => assert_eq!(steps, [3_000]),
    }
}

/// The reminder worker polls the writer every second on a running server; nobody waits on that
/// poll, so alone it leaves an import's batches whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reminder_workers_poll_alone_leaves_import_batches_whole() {
    let f = Fixture::new().await;
    let hub = leadline_engine::jobs_runner::Hub::new();
    let (_, steps, _) = import_beside(&f, "quiet.csv", "137", move |db, _| {
        let hub = hub.clone();
        async move {
            leadline_engine::jobs_runner::run_due(&db, &hub)
                .await
                .unwrap();
        }
    })
    .await;
    assert_eq!(steps, [3_000]);
}

/// Writes on another connection than SQLite's one writer (a page's edit through sqlx here; a
/// `leadline import` in another process is the same to SQLite) count as somebody writing: an
/// import beside them commits short batches and leaves the lock free between them, and no row
/// of either is lost. PostgreSQL's batches stay whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_another_connection_make_an_import_commit_short_batches() {
    let f = Fixture::new().await;
    let hub = leadline_engine::jobs_runner::Hub::new();
    let (_, steps, writes) = import_beside(&f, "beside.csv", "136", move |db, n| {
        let hub = hub.clone();
        async move {
            db_run!(&db, |pool| sqlx::query(
                "INSERT INTO login_failures (username, client, at) VALUES ($1, 'editor', $2)"
            )
            .bind(format!("editor{n}"))
            .bind(leadline_store::now())
            .execute(pool)
            .await
            .map(|_| ())
            .unwrap());
            // On a running server the reminder worker's poll has the writer look every second.
            leadline_engine::jobs_runner::run_due(&db, &hub)
                .await
                .unwrap();
        }
    })
    .await;
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM login_failures WHERE client = 'editor'"
        )
        .await,
        writes
    );
    match f.db().backend() {
        leadline_store::Backend::Sqlite => {
            assert!(steps.len() > 1, "batches beside the editor: {steps:?}")
        }
        leadline_store::Backend::Postgres => assert_eq!(steps, [3_000]),
    }
}
