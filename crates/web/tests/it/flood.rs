//! Holding under floods: hundreds of exports whose downloads are never read, and thousands of
//! connections that send half a request, must not freeze sign-in, exports or the health check,
//! and must not stop the server from shutting down.

use std::sync::Arc;
use std::time::Duration;

use leadline_store::{Db, db_run};
use leadline_web::api::exports::ExportSlots;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

use crate::helpers::{PASSWORD, TestApp, start_server_with};

/// Long enough that only a hang misses it.
const LIVENESS: Duration = Duration::from_secs(10);

/// Loads `n` pool leads of about 1 KB each: one export is megabytes, more than the socket
/// buffers (up to 4 MB on Linux) between the server and a client that does not read.
async fn bulk_wide_leads(db: &Db, n: usize) {
    let now = leadline_store::now();
    let company = "宽".repeat(330);
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let values: Vec<String> = chunk
            .iter()
            .map(|_| "($1, $2, 'new', $3, $3, 0)".to_string())
            .collect();
        let text = format!(
            "INSERT INTO leads (name, company, status, created_at, updated_at, priority) VALUES {}",
            values.join(", ")
        );
        db_run!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(text))
            .bind("导出压力")
            .bind(&company)
            .bind(now)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected());
    }
}

/// Sends an export request on a raw socket with a small receive window and reads only the
/// status line; the socket is then never read again.
async fn unread_export(addr: &str, token: &str) -> (TcpStream, u16) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    let request = format!(
        "GET /api/v1/leads/export?format=csv HTTP/1.1\r\nHost: leadline\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    timeout(LIVENESS, stream.read_exact(&mut head))
        .await
        .expect("the export's status line within the liveness timeout")
        .unwrap();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    (stream, status)
}

async fn token(base: &str, username: &str) -> String {
    let res = timeout(
        LIVENESS,
        reqwest::Client::new()
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send(),
    )
    .await
    .unwrap_or_else(|_| panic!("sign-in of {username} answers within {LIVENESS:?}"))
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "sign-in of {username}");
    res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn export_status(base: &str, token: &str) -> (StatusCode, reqwest::Response) {
    let res = timeout(
        LIVENESS,
        reqwest::Client::new()
            .get(format!("{base}/api/v1/leads/export?format=csv"))
            .bearer_auth(token)
            .send(),
    )
    .await
    .expect("an export answers within the liveness timeout")
    .unwrap();
    (res.status(), res)
}

/// Asks for an export until it is no longer 429 (within the liveness timeout, else `why` did
/// not happen) and reads it whole: its number of lines.
async fn export_once_a_place_is_free(base: &str, token: &str, why: &str) -> usize {
    let body = timeout(LIVENESS, async {
        loop {
            let (status, res) = export_status(base, token).await;
            if status == StatusCode::OK {
                break res.bytes().await.unwrap();
            }
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("an export runs again once {why}"));
    String::from_utf8(body[3..].to_vec())
        .unwrap()
        .lines()
        .count()
}

/// 200 exports on sockets that are never read, on a server with a small blocking pool (16
/// threads, where one stuck export used to pin two): sign-in still answers, exports past the
/// caps get 429 `too_many_exports`, exports work again once the slow clients close, and the
/// server still shuts down while downloads are stuck.
#[test]
fn unread_exports_neither_freeze_sign_in_nor_stop_shutdown() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(16)
        .enable_all()
        .build()
        .unwrap()
        .block_on(export_flood());
}

async fn export_flood() {
    let app = TestApp::spawn().await;
    const LEADS: usize = 8000;
    bulk_wide_leads(&app.db, LEADS).await;
    let server = start_server_with(&app.db, |s| {
        s.exports = Arc::new(ExportSlots::new(10, 15));
        s.connections.shutdown_grace = Duration::from_secs(1);
    })
    .await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let admin = token(&server.base, "admin").await;
    let sup_a = token(&server.base, "sup_a").await;

    let mut slow = Vec::new();
    let mut admitted = [0, 0];
    for (who, tok, n) in [(0, &admin, 150), (1, &sup_a, 50)] {
        for _ in 0..n {
            let (stream, status) = unread_export(&addr, tok).await;
            assert!(status == 200 || status == 429, "status {status}");
            if status == 200 {
                admitted[who] += 1;
            }
            slow.push(stream);
        }
    }
    assert_eq!(admitted, [10, 5], "10 per user, 15 on the server");

    // Sign-in (argon2 on the blocking pool) and the health check still answer.
    token(&server.base, "sup_b").await;
    let health = timeout(LIVENESS, reqwest::get(format!("{}/healthz", server.base)))
        .await
        .expect("the health check answers")
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // Another user's export is over the server's cap: a clear 429.
    let sup_b = token(&server.base, "sup_b").await;
    let (status, res) = export_status(&server.base, &sup_b).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "too_many_exports"
    );

    // The slow clients leave: their exports end and give their places back.
    drop(slow);
    let lines =
        export_once_a_place_is_free(&server.base, &sup_b, "the slow clients have gone").await;
    assert_eq!(lines, LEADS + 1, "header and every lead");

    // Downloads stuck again: shutdown still completes.
    let mut stuck = Vec::new();
    for _ in 0..5 {
        let (stream, status) = unread_export(&addr, &admin).await;
        assert_eq!(status, 200);
        stuck.push(stream);
    }
    timeout(LIVENESS, server.stop())
        .await
        .expect("the server stops while downloads are stuck");
}

/// A client that keeps its connection open but stops reading its download: once nothing has
/// been taken for the stall limit, its export ends and gives its place back, so the same user's
/// next export runs (in full) while the stalled socket is still open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_left_unread_gives_its_export_place_back() {
    let app = TestApp::spawn().await;
    const LEADS: usize = 8000;
    bulk_wide_leads(&app.db, LEADS).await;
    let server = start_server_with(&app.db, |s| {
        s.exports = Arc::new(ExportSlots::new(1, 15).with_stall(Duration::from_secs(1)));
    })
    .await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let sup_a = token(&server.base, "sup_a").await;

    let (stalled, status) = unread_export(&addr, &sup_a).await;
    assert_eq!(status, 200);
    // At once, the one place is taken.
    let (status, _) = export_status(&server.base, &sup_a).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    let lines = export_once_a_place_is_free(&server.base, &sup_a, "the stalled export ended").await;
    assert_eq!(lines, LEADS + 1, "header and every lead");
    drop(stalled);
}

/// Connections that send half a request line: past the connection cap the oldest is shed, so
/// the health check answers at once; the rest are closed after the header-read timeout, and so
/// is a kept-alive connection left idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_shed_and_timed_out_and_health_still_answers() {
    let app = TestApp::spawn().await;

    // A small cap and a header timeout no test waits for: only shedding can close connections.
    let capped = start_server_with(&app.db, |s| {
        s.connections.max_connections = 50;
        s.connections.header_read_timeout = Duration::from_secs(600);
    })
    .await;
    let addr = capped.base.trim_start_matches("http://").to_string();
    let mut flood = Vec::new();
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(b"GET /heal").await.unwrap();
        flood.push(stream);
    }
    let health = timeout(LIVENESS, reqwest::get(format!("{}/healthz", capped.base)))
        .await
        .expect("the health check answers with 1,000 half-sent requests open")
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");
    let mut closed = 0;
    for stream in &mut flood {
        if closed_within(stream, Duration::from_millis(20)).await {
            closed += 1;
        }
    }
    assert!(
        closed >= 950,
        "only {closed} of 1,000 were shed by a cap of 50"
    );

    // A short header timeout closes every half-sent request, and an idle kept-alive connection.
    let timed = start_server_with(&app.db, |s| {
        s.connections.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = timed.base.trim_start_matches("http://").to_string();
    let mut half = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(b"GET /heal").await.unwrap();
        half.push(stream);
    }
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: leadline\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    for stream in half.iter_mut().chain([&mut idle]) {
        assert!(
            closed_within(stream, LIVENESS).await,
            "a half-sent request or idle connection is closed after the header timeout"
        );
    }
    let health = timeout(LIVENESS, reqwest::get(format!("{}/healthz", timed.base)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

/// Whether the server closes `stream` within `wait` (reading past anything it already sent).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    timeout(wait, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}
