//! Events across app servers (issue 26): what one server writes reaches the event streams open
//! on another through the database's announcements (PostgreSQL LISTEN/NOTIFY; on SQLite, where
//! one process owns the file, inside the process), not by polling: the servers here wait 60 s
//! before reading again on their own, and every event is awaited for at most half of that. A
//! listener whose connection is killed connects again and has its streams read again, and a
//! change that was never announced still arrives at the catch-up.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile, next_sse, start_server_with};
use crate::workspace::open_all_hours;

/// The servers' own catch-up: far longer than any wait below, so that whatever arrives came
/// from an announcement.
const CATCH_UP: Duration = Duration::from_secs(60);
/// The longest a test waits for one event: half the catch-up.
const WAIT: Duration = Duration::from_secs(30);

fn slow_catch_up(state: &mut leadline_web::AppState) {
    state.events_catch_up = CATCH_UP;
}

/// Opens `path` (an event stream) as `api`'s user on the server at `base`.
async fn open(api: &Api, base: &str, path: &str) -> reqwest::Response {
    let res = api
        .http
        .get(format!("{base}{path}"))
        .bearer_auth(api.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res
}

/// Reads the stream until the next event named `name`; returns its data. Fails after [`WAIT`].
async fn next_event(res: &mut reqwest::Response, buf: &mut String, name: &str) -> Value {
    serde_json::from_str(&next_sse(res, buf, name, WAIT).await).unwrap()
}

fn calls_of(view: &Value, name: &str) -> i64 {
    view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {view}"))["calls"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_call_recorded_on_one_server_reaches_the_streams_open_on_another_at_once() {
    let app = TestApp::spawn_with(slow_catch_up).await;
    open_all_hours(&app).await;
    let second = start_server_with(&app.db, slow_catch_up).await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "跨服客户", "phones": [mobile(8901)]}))
        .await;

    // The supervisor's live view and the agent's own workspace are open on the second server.
    let sup = second.api("sup_a").await;
    let mut live = open(&sup, &second.base, "/api/v1/supervisor/live/events").await;
    let mut live_buf = String::new();
    let view = next_event(&mut live, &mut live_buf, "live").await;
    assert_eq!(calls_of(&view, "张伟"), 0);
    let on_second = second.api("agent_a1").await;
    let mut own = open(&on_second, &second.base, "/api/v1/agent/events").await;
    let mut own_buf = String::new();
    let ready = next_event(&mut own, &mut own_buf, "ready").await;
    assert_eq!(ready["done"], 0);

    // The call is recorded through the first server.
    let recorded = agent
        .post(
            &format!("/api/v1/leads/{}/calls", lead["id"]),
            json!({"disposition": "connected", "intent": "interested", "duration_s": 30}),
        )
        .await;
    assert_eq!(recorded.status(), StatusCode::CREATED);
    let view = next_event(&mut live, &mut live_buf, "live").await;
    assert_eq!(calls_of(&view, "张伟"), 1, "{view}");
    assert_eq!(calls_of(&view, "李娜"), 0);
    let counted = next_event(&mut own, &mut own_buf, "call_recorded").await;
    assert_eq!(counted["done"], 1, "{counted}");
    second.stop().await;
}

/// A change written without an announcement (here a rename straight in the database) reaches
/// the live view when the server's listener connection is killed and connects again; on SQLite,
/// with no connection to lose, at the server's catch-up (a short one here).
#[tokio::test]
async fn a_killed_listener_connection_is_caught_up() {
    let postgres = leadline_store::db::test_db::postgres_url().is_some();
    let app = TestApp::spawn_with(|state| {
        if !postgres {
            state.events_catch_up = Duration::from_secs(1);
        }
    })
    .await;
    let second = start_server_with(&app.db, slow_catch_up).await;
    let sup = second.api("sup_a").await;
    let server = if postgres { &second.base } else { &app.base };
    let mut live = open(&sup, server, "/api/v1/supervisor/live/events").await;
    let mut buf = String::new();
    next_event(&mut live, &mut buf, "live").await;

    leadline_store::db_run!(&app.db, |pool| {
        sqlx::query("UPDATE users SET display_name = '张伟伟' WHERE id = $1")
            .bind(app.org.agent_a1)
            .execute(pool)
            .await
            .unwrap();
    });
    if let leadline_store::Db::Postgres(pool) = &app.db {
        // Both servers' listeners on this schema lose their connection.
        const LISTENERS: &str = "FROM pg_stat_activity WHERE query LIKE 'LISTEN %' \
            AND query LIKE '%' || current_schema() || '%' AND pid <> pg_backend_pid()";
        let deadline = tokio::time::Instant::now() + WAIT;
        while sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) {LISTENERS}"
        )))
        .fetch_one(pool)
        .await
        .unwrap()
            < 2
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "one listener per server"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let killed: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(pg_terminate_backend(pid)) {LISTENERS}"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(killed, 2);
    }
    let view = next_event(&mut live, &mut buf, "live").await;
    assert!(view.to_string().contains("张伟伟"), "{view}");
    second.stop().await;
}

/// What N idle open event streams cost the database: transactions committed per second on the
/// test database (every read of a stream is one), with the streams open and without. Run alone,
/// on a PostgreSQL database of its own (other users of the database would be counted):
/// `LEADLINE_TEST_POSTGRES_URL=postgres://…/measure cargo test -p leadline-web --test it
/// idle_streams_cost -- --ignored --nocapture` (`LEADLINE_MEASURE_STREAMS`, `…_SECS`).
#[tokio::test]
#[ignore = "a measurement: run alone on a database of its own"]
async fn idle_streams_cost() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (streams, secs) = (
        env("LEADLINE_MEASURE_STREAMS", 50),
        env("LEADLINE_MEASURE_SECS", 30),
    );
    let app = crate::helpers::TestApp::spawn().await;
    let leadline_store::Db::Postgres(pool) = &app.db else {
        eprintln!("idle_streams_cost needs LEADLINE_TEST_POSTGRES_URL");
        return;
    };
    let commits = || async {
        // The statistics of this backend's own work are flushed first.
        sqlx::query("SELECT pg_stat_force_next_flush()")
            .execute(pool)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        sqlx::query_scalar::<_, i64>(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    };
    let window = std::time::Duration::from_secs(secs);
    let before = commits().await;
    tokio::time::sleep(window).await;
    let idle = commits().await - before;
    let agent = app.api("agent_a1").await;
    let sup = app.api("sup_a").await;
    let mut open = Vec::new();
    for i in 0..streams {
        let (api, path) = if i % 5 == 4 {
            (&sup, "/api/v1/supervisor/live/events")
        } else {
            (&agent, "/api/v1/agent/events")
        };
        let res = api
            .http
            .get(format!("{}{path}", api.base))
            .bearer_auth(api.token.clone().unwrap())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        open.push(res);
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let before = commits().await;
    tokio::time::sleep(window).await;
    let busy = commits().await - before;
    let rate = |n: i64| n as f64 / secs as f64;
    println!(
        "idle_streams_cost: no streams {:.1} transactions/s; {streams} open streams ({} agent, {} live) {:.1}/s; the streams' own {:.1}/s over {secs} s",
        rate(idle),
        streams - streams / 5,
        streams / 5,
        rate(busy),
        rate(busy - idle),
    );
    drop(open);
}
