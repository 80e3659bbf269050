//! Answer speed on the dashboard (issue 27, speed27), on either backend: calls the call service
//! recorded today in the organisation's zone (through `telephony::record_call`) give the
//! `answer_speed` figures of `GET /api/v1/dashboard` (queued, answered, within three rings,
//! waits, abandoned, to the fallback); a call from yesterday and a call that never entered a
//! queue do not count; agents do not get the figures (inbound queues are not per team); the page
//! and the wallboard show the 接听速度 panel to a supervisor, not to an agent.

use chrono::{DateTime, TimeDelta, Utc};
use leadline_store::call_stats;
use leadline_store::telephony::{Direction, HungUpBy, PhoneCallInput, QueueInput, record_call};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

fn call(id: &str, at: DateTime<Utc>, queue: Option<(&'static str, i64)>) -> PhoneCallInput {
    PhoneCallInput {
        sip_call_id: format!("{id}@speed"),
        direction: Direction::Inbound,
        caller: "13800138000".to_owned(),
        callee: "9000".to_owned(),
        digits: "0".to_owned(),
        hung_up_by: HungUpBy::Caller,
        started_at: at,
        ended_at: at + TimeDelta::seconds(90),
        queue: queue.map(|(result, wait_ms)| QueueInput {
            queue: "agents".to_owned(),
            seat: (result == "answered").then(|| "8001".to_owned()),
            result,
            answered_at: (result == "answered")
                .then(|| at + TimeDelta::seconds(4) + TimeDelta::milliseconds(wait_ms)),
            wait_ms,
        }),
        lookups: "[]".into(),
    }
}

#[tokio::test]
async fn answer_speed_counts_todays_queued_calls_for_supervisors_and_admins_only() {
    let app = TestApp::spawn().await;
    // The start of today's statistics day in the organisation's zone (Asia/Shanghai): calls are
    // placed after it, and one a minute before it (yesterday's).
    let today = call_stats::today(&app.db, leadline_store::now())
        .await
        .unwrap();
    let t0 = DateTime::<Utc>::from_timestamp(today.first, 0).unwrap();
    let at = |s: i64| t0 + TimeDelta::seconds(s);
    for c in [
        call("fast", at(10), Some(("answered", 3_000))),
        call("slow", at(20), Some(("answered", 20_000))),
        // Exactly three rings (15 s) still counts as within three rings.
        call("edge", at(25), Some(("answered", 15_000))),
        call("gone", at(30), Some(("abandoned", 9_000))),
        call("nobody", at(40), Some(("no_answer", 30_000))),
        call("busy", at(45), Some(("busy", 0))),
        call(
            "yesterday",
            t0 - TimeDelta::seconds(60),
            Some(("answered", 1_000)),
        ),
        call("menu-only", at(50), None),
    ] {
        record_call(&app.db, &c).await.unwrap();
    }

    let expected = json!({
        "queued": 6,
        "answered": 3,
        "within_three_rings": 2,
        "within_three_rings_permille": 666,
        "abandoned": 1,
        "unanswered": 2,
        // (3 + 20 + 15) / 3 = 12.67 s.
        "avg_wait_s": 13,
        "max_wait_s": 20,
    });
    for who in ["sup_a", "admin"] {
        let (status, d) = app.api(who).await.get_json("/api/v1/dashboard").await;
        assert_eq!(status, StatusCode::OK, "{who}: {d}");
        assert_eq!(d["answer_speed"], expected, "{who}");
        // The existing figures are still there.
        assert!(d["hours_today"].is_array() && d["leaderboard"].is_array());
    }
    // The admin's team board shows the same floor-wide figures.
    let (_, d) = app
        .api("admin")
        .await
        .get_json(&format!("/api/v1/dashboard?team_id={}", app.org.team_b.0))
        .await;
    assert_eq!(d["answer_speed"], expected);

    // Agents see their team's board without the floor's queue figures; a sales rep without a
    // team and finance are refused the board as before.
    let (status, d) = app
        .api("agent_a1")
        .await
        .get_json("/api/v1/dashboard")
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert!(d["answer_speed"].is_null(), "{d}");
    let (status, _) = app.api("sales1").await.get_json("/api/v1/dashboard").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The page and the wallboard show the panel (Chinese first) to the supervisor.
    let page = app.browser("sup_a").await;
    let (status, html) = page.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"dash-speed\""), "{html}");
    assert!(html.contains("接听速度"));
    assert!(html.contains("三声内接听"));
    assert!(
        html.contains("<strong id=\"speed-queued\">6</strong>"),
        "{html}"
    );
    assert!(
        html.contains("<strong id=\"speed-max\">20秒</strong>"),
        "{html}"
    );
    assert!(html.contains("<strong id=\"speed-abandoned\">1</strong>"));
    assert!(html.contains("data-permille=\"666\""));
    assert!(html.contains("66.6%"));
    let (_, wall) = page.get("/dashboard?wall=1").await;
    assert!(wall.contains("id=\"dash-speed\""));
    assert!(wall.contains("<strong id=\"speed-answered\">3</strong>"));
    let (_, panel) = page.get("/dashboard/panel").await;
    assert!(panel.contains("id=\"dash-speed\""));
    // Not to an agent.
    let (status, html) = app.browser("agent_a1").await.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"dash-speed\""));
    assert!(!html.contains("接听速度"));
}

#[tokio::test]
async fn answer_speed_is_all_zero_without_queued_calls() {
    let app = TestApp::spawn().await;
    let (status, d) = app.api("admin").await.get_json("/api/v1/dashboard").await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(
        d["answer_speed"],
        json!({"queued": 0, "answered": 0, "within_three_rings": 0,
            "within_three_rings_permille": 0, "abandoned": 0, "unanswered": 0,
            "avg_wait_s": 0, "max_wait_s": 0})
    );
    let (_, html) = app.browser("admin").await.get("/dashboard").await;
    assert!(
        html.contains("<strong id=\"speed-queued\">0</strong>"),
        "{html}"
    );
    assert!(html.contains("0.0%"));
}
