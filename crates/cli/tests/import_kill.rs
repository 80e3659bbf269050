//! Kills a real `leadline import` with SIGKILL part-way through a 40,000-row file (batches of 5,000, 10,000, 15,000 and 10,000 rows), checks that
//! only whole batches were kept, resumes it and checks every row landed exactly once. On SQLite,
//! or on a fresh PostgreSQL database instead when `LEADLINE_TEST_POSTGRES_URL` is set.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use leadline_store::{Db, db_run};

mod common;
use common::{database_with_admin, leadline};

const ROWS: usize = 40_000;
/// Every committed batch boundary is a multiple of this (`leadline_engine::import_run::BATCH_ROWS`;
/// batches grow from 5,000 to 15,000 rows).
const BATCH: i64 = 5_000;

/// Every 1,000th row has a bad phone; every 700th repeats the phone of the row before it.
fn write_file(path: &Path) -> (i64, i64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "姓名,手机,公司,城市").unwrap();
    let (mut bad, mut dups) = (0, 0);
    for i in 1..=ROWS {
        let phone = if i % 1000 == 0 {
            bad += 1;
            "12345".to_string()
        } else if i % 700 == 0 {
            dups += 1;
            format!("13{:09}", i - 1)
        } else {
            format!("13{i:09}")
        };
        writeln!(out, "客户{i},{phone},公司{i}号,上海").unwrap();
    }
    (bad, dups)
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.to_string())
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn job(db: &Db) -> Option<(i64, String, i64, i64, i64, i64)> {
    db_run!(db, |pool| sqlx::query_as(
        "SELECT id, status, rows_done, imported, skipped, failed FROM imports ORDER BY id LIMIT 1"
    )
    .fetch_optional(pool)
    .await
    .unwrap())
}

async fn kill_and_resume(url: &str, dir: &Path) {
    let db = database_with_admin(url).await;
    let file = dir.join("big.csv");
    let (bad, dups) = write_file(&file);

    let mut child = leadline(url)
        .arg("import")
        .arg(&file)
        .arg("--quiet")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let killed_at = loop {
        if let Some(j) = job(&db).await
            && j.2 > 0
        {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            break j;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the import ended before it could be killed: {status}");
        }
        assert!(Instant::now() < deadline, "no batch committed in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // What a kill leaves: the job still running, whole batches only, counts matching the rows.
    let (id, status, rows_done, imported, skipped, failed) = job(&db).await.unwrap();
    assert_eq!(status, "running");
    assert!(rows_done >= killed_at.2);
    assert!(rows_done < ROWS as i64, "killed before the end");
    assert_eq!(rows_done % BATCH, 0, "only whole batches");
    assert_eq!(imported + skipped + failed, rows_done);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM leads").await, imported);
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM import_errors").await,
        failed
    );

    let out = leadline(url)
        .arg("import")
        .arg("--resume")
        .arg(id.to_string())
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, status, rows_done, imported, skipped, failed) = job(&db).await.unwrap();
    assert_eq!(status, "done");
    assert_eq!(rows_done, ROWS as i64);
    assert_eq!(failed, bad);
    assert_eq!(skipped, dups);
    assert_eq!(imported, ROWS as i64 - bad - dups);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM leads").await, imported);
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT e164) FROM lead_phones").await,
        imported,
        "every phone once"
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM import_errors").await,
        bad,
        "each refused row recorded once"
    );
    // `--status` reports it.
    let out = leadline(url)
        .arg("import")
        .arg("--status")
        .arg(id.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("done") && text.contains(&ROWS.to_string()),
        "{text}"
    );
    db.close().await;
}

#[tokio::test]
async fn a_killed_import_keeps_whole_batches_and_resumes_to_every_row_once() {
    let dir = std::env::temp_dir().join(format!("leadline-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    match std::env::var("LEADLINE_TEST_POSTGRES_URL") {
        Ok(pg) if !pg.is_empty() => kill_and_resume_on_postgres(&pg, &dir).await,
        _ => {
            let url = dir.join("kill.db").to_string_lossy().into_owned();
            kill_and_resume(&url, &dir).await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same on a database of its own, dropped afterwards.
async fn kill_and_resume_on_postgres(pg: &str, dir: &Path) {
    {
        let name = format!("leadline_kill_{}", std::process::id());
        let admin = sqlx::PgPool::connect(pg).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&admin)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let (base, _) = pg.rsplit_once('/').unwrap();
        kill_and_resume(&format!("{base}/{name}"), dir).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
    }
}
