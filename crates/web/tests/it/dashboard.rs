//! The team dashboard (issue 24) over real HTTP, on either backend: after calls recorded
//! through the API, `GET /api/v1/dashboard` holds the same numbers as the calls themselves
//! (hour of today in the organisation's zone, totals, leaderboard, funnel); who may see which
//! team's board (403 for another team, or without a team); the page and its wallboard mode; the
//! panel pushed over server-sent events when a call is recorded (and the same refusals there);
//! and in a browser, the hour's bar of the inline SVG grows when a call is recorded.

use anyhow::{Context, ensure};
use chrono::Timelike;
use leadline_store::db_run;
use reqwest::StatusCode;
use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::browser::{in_browser, log_in};
use crate::helpers::{Api, TestApp, mobile, next_sse, post};
use crate::workspace::open_all_hours;

async fn board(api: &Api, query: &str) -> (StatusCode, Value) {
    api.get_json(&format!("/api/v1/dashboard{query}")).await
}

async fn record(api: &Api, lead: &Value, disposition: &str, duration_s: i64) {
    let (status, v) = post(
        api,
        &format!("/api/v1/leads/{}/calls", lead["id"]),
        json!({"disposition": disposition, "duration_s": duration_s}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

/// The current hour in the organisation's zone (Asia/Shanghai by default).
fn hour_now() -> usize {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .hour() as usize
}

#[tokio::test]
async fn the_api_numbers_equal_the_recorded_calls_and_other_teams_are_refused() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let b1 = app.api("agent_b1").await;
    let l1 = a1
        .create_lead(json!({"name": "看板一", "phones": [mobile(7101)]}))
        .await;
    let l2 = a2
        .create_lead(json!({"name": "看板二", "phones": [mobile(7102)]}))
        .await;
    let l3 = b1
        .create_lead(json!({"name": "看板三", "phones": [mobile(7103)]}))
        .await;
    let hour = hour_now();
    record(&a1, &l1, "connected", 60).await;
    record(&a1, &l1, "no_answer", 0).await;
    record(&a2, &l2, "connected", 30).await;
    record(&b1, &l3, "connected", 500).await;

    let sup = app.api("sup_a").await;
    let (status, d) = board(&sup, "").await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["team_id"], app.org.team_a.0);
    // What the calls table holds for team A today.
    let team = app.org.team_a.0;
    let (calls, talk): (i64, i64) = db_run!(&app.db, |pool| {
        sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(c.duration_s), 0) AS BIGINT) FROM calls c JOIN users u ON u.id = c.agent_id \
         WHERE u.team_id = $1 AND c.disposition = 'connected'"
    )
    .bind(team)
    .fetch_one(pool)
    .await
    .unwrap()
    });
    let all: i64 = db_run!(&app.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM calls c JOIN users u ON u.id = c.agent_id WHERE u.team_id = $1"
    )
    .bind(team)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!((all, calls, talk), (3, 2, 90));
    assert_eq!(d["calls"], all);
    assert_eq!(d["connected"], calls);
    assert_eq!(d["connect_rate_permille"], 666);
    assert_eq!(d["talk_s"], talk);
    let hours: Vec<i64> = serde_json::from_value(d["hours_today"].clone()).unwrap();
    assert_eq!(hours.len(), 24);
    assert_eq!(hours.iter().sum::<i64>(), all);
    // A call made as the hour turned may sit in the next one; both are today's.
    assert!(
        hours[hour] + hours.get(hour + 1).copied().unwrap_or(0) == all,
        "{hours:?}"
    );
    let leaders = d["leaderboard"].as_array().unwrap();
    assert_eq!(leaders[0]["agent_id"], app.org.agent_a1.0);
    assert_eq!(
        (
            leaders[0]["calls"].as_i64(),
            leaders[0]["connected"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert!(leaders.iter().all(|r| r["agent_id"] != app.org.agent_b1.0));
    assert_eq!(d["funnel_today"]["leads"], 2);
    assert_eq!(d["funnel_today"]["connected"], 2);
    assert_eq!(d["funnel_month"]["leads"], 2);
    assert!(d["progress"].is_object());

    // The admin sees everyone without a team, or any team.
    let admin = app.api("admin").await;
    let (_, all_floor) = board(&admin, "").await;
    assert_eq!(all_floor["calls"], 4);
    let (_, b) = board(&admin, &format!("?team_id={}", app.org.team_b.0)).await;
    assert_eq!(
        (b["calls"].as_i64(), b["talk_s"].as_i64()),
        (Some(1), Some(500))
    );

    // An agent sees their own team's board, not another's; a supervisor not another team's.
    let (status, own) = board(&a2, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["calls"], 3);
    let (status, _) = board(&a1, &format!("?team_id={}", app.org.team_b.0)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = board(&sup, &format!("?team_id={}", app.org.team_b.0)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = board(&sup, "?team_id=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    // A sales rep without a team has no team board.
    let rep = app.api("sales1").await;
    let (status, _) = board(&rep, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The page and the wallboard: inline SVG, no navigation on the wall.
    let page = app.browser("sup_a").await;
    let (status, html) = page.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<svg id=\"dash-hours\""), "{html}");
    assert!(html.contains("id=\"nav-dashboard\""));
    assert_eq!(html.matches("class=\"bar today\"").count(), 24);
    let (_, wall) = page.get("/dashboard?wall=1").await;
    assert!(wall.contains("<svg id=\"dash-hours\""));
    assert!(!wall.contains("id=\"nav-dashboard\""));
    let (status, _) = app
        .browser("agent_a1")
        .await
        .get(&format!("/dashboard?team_id={}", app.org.team_b.0))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_hours_bar_grows_in_the_browser_when_a_call_is_recorded() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "大屏客户", "phones": [mobile(7201)]}))
        .await;
    record(&agent, &lead, "connected", 40).await;

    in_browser("dashboard", |driver| async move {
        log_in(&driver, &app, "sup_a").await?;
        driver.goto(app.url("/dashboard")).await?;
        let bars = driver
            .find_all(By::Css("#dash-hours rect.bar.today"))
            .await?;
        ensure!(bars.len() == 24, "{} bars for today", bars.len());
        let yesterday = driver
            .find_all(By::Css("#dash-hours rect.bar.yesterday"))
            .await?;
        ensure!(yesterday.len() == 24);
        // The one call so far is in the current hour (or the next, if the hour just turned).
        let grown = "#dash-hours rect.bar.today:not([data-value='0'])";
        let bar = driver.find(By::Css(grown)).await?;
        let hour = bar.attr("data-hour").await?.context("data-hour")?;
        let h1: f64 = bar.attr("height").await?.context("height")?.parse()?;
        ensure!(bar.attr("data-value").await?.as_deref() == Some("1"));

        record(&agent, &lead, "connected", 40).await;
        // The panel is pushed again once the call is recorded: wait for the bar to hold two.
        let sel = format!("#dash-hours rect.bar.today[data-hour='{hour}'][data-value='2']");
        let grown = driver
            .query(By::Css(sel))
            .wait(
                std::time::Duration::from_secs(30),
                std::time::Duration::from_millis(200),
            )
            .first()
            .await
            .context("the hour's bar moved to two calls")?;
        let h2: f64 = grown.attr("height").await?.context("height")?.parse()?;
        ensure!(h2 >= h1, "the bar grew: {h1} → {h2}");
        let calls = driver.find(By::Id("kpi-calls")).await?.text().await?;
        ensure!(calls == "2", "calls {calls}");
        Ok(())
    })
    .await;
}

/// Reads `/dashboard/events` until the next `panel` event; returns its HTML.
async fn next_panel(res: &mut reqwest::Response, buf: &mut String) -> String {
    next_sse(res, buf, "panel", std::time::Duration::from_secs(30)).await
}

fn kpi_calls(panel: &str) -> &str {
    let from = panel.find("id=\"kpi-calls\">").expect("the calls figure") + 15;
    let to = from + panel[from..].find('<').unwrap();
    &panel[from..to]
}

async fn open_panel_stream(api: &Api, query: &str) -> reqwest::Response {
    api.http
        .get(format!("{}/dashboard/events{query}", api.base))
        .bearer_auth(api.token.clone().unwrap())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_recorded_call_pushes_the_panel_and_other_teams_streams_are_refused() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "推送看板", "phones": [mobile(7301)]}))
        .await;
    let sup = app.api("sup_a").await;
    let mut res = open_panel_stream(&sup, "").await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut buf = String::new();
    let first = next_panel(&mut res, &mut buf).await;
    assert!(first.contains("<svg id=\"dash-hours\""), "{first}");
    assert_eq!(kpi_calls(&first), "0");

    record(&agent, &lead, "connected", 40).await;
    let pushed = next_panel(&mut res, &mut buf).await;
    assert_eq!(kpi_calls(&pushed), "1", "{pushed}");
    assert!(
        pushed.contains("rect class=\"bar today\"") || pushed.contains("class=\"bar today\""),
        "the chart comes with it"
    );

    // Refused as the page is: another team's board, a rep without a team, a bad team id.
    let other = format!("?team_id={}", app.org.team_b.0);
    assert_eq!(
        open_panel_stream(&sup, &other).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        open_panel_stream(&agent, &other).await.status(),
        StatusCode::FORBIDDEN
    );
    let rep = app.api("sales1").await;
    assert_eq!(
        open_panel_stream(&rep, "").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        open_panel_stream(&sup, "?team_id=x").await.status(),
        StatusCode::BAD_REQUEST
    );
}
