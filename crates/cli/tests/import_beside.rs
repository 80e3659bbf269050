//! A `leadline import` run in a process of its own beside a program writing to the same SQLite
//! database (a running server's agents, say): the import sees the other writes through SQLite
//! and commits short batches from the first one on, and neither side loses a row. Alone, the
//! same file goes in one batch. (SQLite only: PostgreSQL writers do not wait for each other.)

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use leadline_store::Db;

mod common;
use common::{database_with_admin, leadline};

const ROWS: usize = 3_000;

fn write_file(path: &Path, first: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "姓名,手机,公司,城市").unwrap();
    for i in first..first + ROWS {
        writeln!(out, "客户{i},13{i:09},公司{i}号,上海").unwrap();
    }
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    let Db::Sqlite(pool) = db else {
        unreachable!("SQLite")
    };
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Runs `leadline import` on `file` and returns the rows done at each progress line.
fn import(url: &str, file: &Path) -> Vec<i64> {
    let out = leadline(url).arg("import").arg(file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Progress lines read "[###---]  24%  500 rows  2944 rows/s …".
    stderr
        .split(['\n', '\r'])
        .filter_map(|l| l.split_once("%  ")?.1.split_once(" rows ")?.0.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_in_its_own_process_gives_way_to_another_writer() {
    let dir = std::env::temp_dir().join(format!("leadline-beside-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = dir.join("beside.db").to_string_lossy().into_owned();
    let db = database_with_admin(&url).await;

    // Alone: one batch.
    let alone = dir.join("alone.csv");
    write_file(&alone, 0);
    let steps = tokio::task::spawn_blocking({
        let url = url.clone();
        move || import(&url, &alone)
    })
    .await
    .unwrap();
    assert_eq!(steps.last(), Some(&(ROWS as i64)), "{steps:?}");
    assert!(steps.iter().all(|&s| s == ROWS as i64), "{steps:?}");

    // Beside another program writing every few milliseconds on its own connection.
    let stop = Arc::new(AtomicBool::new(false));
    let other = tokio::spawn({
        let (db, stop) = (db.clone(), stop.clone());
        async move {
            let Db::Sqlite(pool) = &db else {
                unreachable!("SQLite")
            };
            let mut writes = 0i64;
            while !stop.load(Ordering::Relaxed) {
                sqlx::query(
                    "INSERT INTO login_failures (username, client, at) VALUES ($1, 'other', $2)",
                )
                .bind(format!("other{writes}"))
                .bind(leadline_store::now())
                .execute(pool)
                .await
                .unwrap();
                writes += 1;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            writes
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let beside = dir.join("beside.csv");
    write_file(&beside, ROWS);
    let steps = tokio::task::spawn_blocking({
        let url = url.clone();
        move || import(&url, &beside)
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    let writes = other.await.unwrap();
    assert_eq!(steps.last(), Some(&(ROWS as i64)), "{steps:?}");
    // The first batch is cut short; later ones hold what fits in a few tens of milliseconds,
    // which on a fast machine may be all the rest.
    assert!(
        steps.len() > 1 && steps[0] < ROWS as i64 / 2,
        "short batches from the first on: {steps:?}"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM leads").await,
        2 * ROWS as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM login_failures WHERE client = 'other'"
        )
        .await,
        writes
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
