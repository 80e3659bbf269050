//! The supervisor's live view pushed over server-sent events (issue 4): a recorded call reaches
//! the stream with the new counts, also on another app server over the same database; each
//! viewer sees only their teams; agents and sales reps are refused the stream; a stream (the
//! live view or the agent's events) ends once its token is revoked or its session signed out.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile, next_sse, start_server};
use crate::workspace::open_all_hours;

/// Opens the live stream of `api`'s user on the server at `base`.
async fn open(api: &Api, base: &str) -> reqwest::Response {
    api.http
        .get(format!("{base}/api/v1/supervisor/live/events"))
        .bearer_auth(api.token.clone().unwrap())
        .send()
        .await
        .unwrap()
}

/// Reads the stream until the next `live` event; returns its view.
async fn next_view(res: &mut reqwest::Response, buf: &mut String) -> Value {
    serde_json::from_str(&next_sse(res, buf, "live", Duration::from_secs(30)).await).unwrap()
}

fn agent_row<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {view}"))
}

fn names(view: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_recorded_call_reaches_the_supervisors_live_stream_on_another_server() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let second = start_server(&app.db).await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "推送客户", "phones": [mobile(8801)]}))
        .await;

    // The supervisor's screen is connected to the second server.
    let sup = second.api("sup_a").await;
    let mut res = open(&sup, &second.base).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut buf = String::new();
    let view = next_view(&mut res, &mut buf).await;
    assert_eq!(names(&view), vec!["张伟", "李娜"], "team A only");
    assert_eq!(agent_row(&view, "张伟")["calls"], 0);
    assert_eq!(view["teams"][0]["stats"]["calls"], 0);

    // The agent records a call through the first server.
    let recorded = agent
        .post(
            &format!("/api/v1/leads/{}/calls", lead["id"]),
            json!({"disposition": "connected", "intent": "interested", "duration_s": 40}),
        )
        .await;
    assert_eq!(recorded.status(), StatusCode::CREATED);
    let view = next_view(&mut res, &mut buf).await;
    let row = agent_row(&view, "张伟");
    assert_eq!(row["calls"], 1, "{view}");
    assert_eq!(row["connected"], 1);
    assert_eq!(row["talk_s"], 40);
    assert_eq!(agent_row(&view, "李娜")["calls"], 0);
    assert_eq!(view["teams"][0]["stats"]["calls"], 1);
    assert_eq!(view["teams"][0]["stats"]["talk_s"], 40);

    // A second call on the same server as the stream is pushed too.
    let other = agent
        .create_lead(json!({"name": "推送客户二", "phones": [mobile(8802)]}))
        .await;
    let recorded = agent
        .post(
            &format!("/api/v1/leads/{}/calls", other["id"]),
            json!({"disposition": "no_answer"}),
        )
        .await;
    assert_eq!(recorded.status(), StatusCode::CREATED);
    let view = next_view(&mut res, &mut buf).await;
    assert_eq!(agent_row(&view, "张伟")["calls"], 2, "{view}");
    assert_eq!(agent_row(&view, "张伟")["connected"], 1);
    drop(res);
    second.stop().await;
}

#[tokio::test]
async fn each_viewer_streams_their_teams_and_agents_and_sales_reps_are_refused() {
    let app = TestApp::spawn().await;
    for who in ["agent_a1", "sales1"] {
        let api = app.api(who).await;
        let res = open(&api, &app.base).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who}");
    }
    let res = app.anonymous().get("/api/v1/supervisor/live/events").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // An agent's browser session is refused as well.
    let browser = app.browser("agent_a1").await;
    let (status, _) = browser.get("/api/v1/supervisor/live/events").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut buf = String::new();
    let mut res = open(&app.api("sup_b").await, &app.base).await;
    assert_eq!(names(&next_view(&mut res, &mut buf).await), vec!["赵磊"]);
    let mut buf = String::new();
    let mut res = open(&app.api("admin").await, &app.base).await;
    let view = next_view(&mut res, &mut buf).await;
    assert_eq!(names(&view), vec!["张伟", "李娜", "赵磊"]);
    assert_eq!(view["teams"].as_array().unwrap().len(), 2);
}

/// Reads `res` until the server ends it; panics if it is still open after `limit`.
async fn read_to_end(res: &mut reqwest::Response, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Err(_) => panic!("the stream is still open after {limit:?}"),
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None) | Err(_)) => return,
        }
    }
}

#[tokio::test]
async fn a_revoked_token_ends_its_live_stream() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let mut res = open(&sup, &app.base).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut buf = String::new();
    next_view(&mut res, &mut buf).await;

    let (_, tokens) = sup.get_json("/api/v1/auth/tokens").await;
    for t in tokens["items"].as_array().unwrap() {
        let del = sup
            .http
            .delete(format!("{}/api/v1/auth/tokens/{}", app.base, t["id"]))
            .bearer_auth(sup.token.clone().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(del.status(), StatusCode::NO_CONTENT);
    }
    // The stream polls every second; it must not outlive the token by much.
    read_to_end(&mut res, Duration::from_secs(10)).await;
    assert_eq!(
        open(&sup, &app.base).await.status(),
        StatusCode::UNAUTHORIZED,
        "and cannot be opened again"
    );
}

#[tokio::test]
async fn signing_out_ends_the_agents_event_stream() {
    let app = TestApp::spawn().await;
    let a1 = app.browser("agent_a1").await;
    let mut res = a1
        .http
        .get(format!("{}/api/v1/agent/events", a1.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let first = tokio::time::timeout(Duration::from_secs(10), res.chunk())
        .await
        .expect("the ready event")
        .unwrap()
        .expect("the stream is open");
    assert!(String::from_utf8_lossy(&first).contains("ready"));

    let csrf = a1.csrf("/leads").await;
    let out = a1.post_form("/logout", &[("_csrf", csrf.as_str())]).await;
    assert!(out.status().is_redirection() || out.status().is_success());
    read_to_end(&mut res, Duration::from_secs(10)).await;
}
