//! Kills a real `leadline serve` with SIGKILL part-way through an import started over HTTP, starts
//! another server on the same database (with a temporary directory of its own, so it can only
//! read the upload from the database), and checks that the new server finishes the import by
//! itself, once the dead server's claim has lapsed, with every row exactly once. On SQLite, or on
//! a fresh PostgreSQL database instead when `LEADLINE_TEST_POSTGRES_URL` is set.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use leadline_store::{Db, db_run};
use serde_json::Value;

mod common;
use common::{database_with_admin, leadline};

const ROWS: usize = 60_000;
const PASSWORD: &str = "restart-test-pw-1";

fn write_file(path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "姓名,手机,公司,城市").unwrap();
    for i in 1..=ROWS {
        writeln!(out, "客户{i},13{i:09},公司{i}号,上海").unwrap();
    }
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.to_string())
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn import(db: &Db) -> Option<(String, i64)> {
    db_run!(db, |pool| sqlx::query_as(
        "SELECT status, rows_done FROM imports ORDER BY id LIMIT 1"
    )
    .fetch_optional(pool)
    .await
    .unwrap())
}

/// Starts `leadline serve` on a free port with `tmp` as its temporary directory; returns the
/// process and its base URL once it listens.
fn serve(url: &str, tmp: &Path) -> (Child, String) {
    std::fs::create_dir_all(tmp).unwrap();
    let mut child = leadline(url)
        .arg("serve")
        .arg("--bind")
        .arg("127.0.0.1:0")
        .env("TMPDIR", tmp)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed where it listens")
            .unwrap();
        if let Some(addr) = line.split("listening on ").nth(1) {
            break addr.trim().to_string();
        }
    };
    // Keep reading its output so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    let res = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "token: {}", res.status());
    res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn kill_and_restart(url: &str, dir: &Path) {
    let file = dir.join("big.csv");
    write_file(&file);
    let db = database_with_admin(url).await;
    let hash = leadline_store::auth::users::hash_password(PASSWORD);
    db_run!(&db, |pool| sqlx::query(
        "UPDATE users SET password_hash = $1 WHERE username = 'admin'"
    )
    .bind(&hash)
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
    let (mut first, base) = serve(url, &dir.join("tmp-first"));
    let http = reqwest::Client::new();
    let token = token(&http, &base).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(std::fs::read(&file).unwrap()).file_name("big.csv"),
    );
    let res = http
        .post(format!("{base}/api/v1/imports"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::ACCEPTED);

    let deadline = Instant::now() + Duration::from_secs(300);
    let killed_at = loop {
        if let Some((_, rows_done)) = import(&db).await
            && rows_done > 0
        {
            first.kill().unwrap(); // SIGKILL
            first.wait().unwrap();
            break rows_done;
        }
        assert!(
            first.try_wait().unwrap().is_none(),
            "the server ended by itself"
        );
        assert!(Instant::now() < deadline, "no batch committed in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (status, rows_done) = import(&db).await.unwrap();
    assert_eq!(status, "running");
    assert!(rows_done >= killed_at);
    assert!(rows_done < ROWS as i64, "killed before the end");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM leads").await, rows_done);
    println!("killed the server with {rows_done} of {ROWS} rows committed");

    // A new server, which has never seen the file, finishes the import by itself.
    let (mut second, _) = serve(url, &dir.join("tmp-second"));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(300);
    loop {
        let (status, _) = import(&db).await.unwrap();
        if status != "running" {
            assert_eq!(status, "done");
            break;
        }
        assert!(
            second.try_wait().unwrap().is_none(),
            "the second server ended"
        );
        assert!(Instant::now() < deadline, "the import was not picked up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "picked up and finished {:.1} s after the second server started",
        started.elapsed().as_secs_f64()
    );
    let (_, rows_done) = import(&db).await.unwrap();
    assert_eq!(rows_done, ROWS as i64);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM leads").await, ROWS as i64);
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT e164) FROM lead_phones").await,
        ROWS as i64,
        "every row once"
    );
    // The upload goes once the import is done, just before its job is marked done.
    let deadline = Instant::now() + Duration::from_secs(30);
    while scalar(&db, "SELECT COUNT(*) FROM uploads").await != 0 {
        assert!(
            Instant::now() < deadline,
            "the done import's upload is removed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    db.close().await;
}

#[tokio::test]
async fn an_import_interrupted_by_killing_its_server_is_finished_by_the_next_server() {
    let dir = std::env::temp_dir().join(format!("leadline-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    match std::env::var("LEADLINE_TEST_POSTGRES_URL") {
        Ok(pg) if !pg.is_empty() => {
            let name = format!("leadline_restart_{}", std::process::id());
            let admin = sqlx::PgPool::connect(&pg).await.unwrap();
            let run = |sql: String| {
                let admin = admin.clone();
                async move {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&admin)
                        .await
                        .unwrap();
                }
            };
            run(format!("DROP DATABASE IF EXISTS {name}")).await;
            run(format!("CREATE DATABASE {name}")).await;
            let (base, _) = pg.rsplit_once('/').unwrap();
            kill_and_restart(&format!("{base}/{name}"), &dir).await;
            run(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            admin.close().await;
        }
        _ => {
            let url = dir.join("restart.db").to_string_lossy().into_owned();
            kill_and_restart(&url, &dir).await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
