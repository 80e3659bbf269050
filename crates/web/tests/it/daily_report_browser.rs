//! Browser story of issue 24 (headless Chromium through the harness in `browser.rs`): an agent
//! with a month target sees the progress bars on the workspace, opens 日报 (figures filled from
//! the day's call, read-only) and submits it; the supervisor sees it handed in on the team's
//! day and comments; the agent sees the comment and the report is no longer editable.

use anyhow::{Result, ensure};
use chrono::Datelike;
use reqwest::StatusCode;
use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::browser::{by_id, fill, in_browser, log_in, open_reports_menu, wait_for_url};
use crate::calls::{lead, open_all_day};
use crate::helpers::{TestApp, post, send};

const COMMENT: &str = "明天重点跟进有意向的客户";

/// The text of `#id` once it contains `needle` (found again on each try: a form post reloads).
async fn text_with(driver: &WebDriver, id: &str, needle: &str) -> Result<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut last = String::new();
        if let Ok(e) = driver.find(By::Id(id)).await
            && let Ok(t) = e.text().await
        {
            if t.contains(needle) {
                return Ok(t);
            }
            last = t;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "#{id} never showed {needle:?} (last: {last:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn agent_submits(driver: &WebDriver, app: &TestApp, day: &str) -> Result<()> {
    log_in(driver, app, "agent_a1").await?;
    driver.goto(app.url("/workspace")).await?;
    let bars = text_with(driver, "target-progress", "拨打量").await?;
    ensure!(bars.contains("1 / 200"), "the workspace bars read {bars:?}");
    open_reports_menu(driver).await?;
    by_id(driver, "nav-daily-report").await?.click().await?;
    wait_for_url(driver, "the daily report", |u| u.path() == "/reports/daily").await?;
    let figures = by_id(driver, "report-figures").await?.text().await?;
    ensure!(
        figures.contains("拨打量") && figures.contains("接通"),
        "the figures read {figures:?}"
    );
    let intents = by_id(driver, "report-intents").await?.text().await?;
    ensure!(
        intents.contains("有意向: 1"),
        "the intent mix reads {intents:?}"
    );
    text_with(driver, "report-status", "未提交").await?;
    fill(driver, "report-summary-input", "今天打了一通，客户有意向").await?;
    fill(driver, "report-problems-input", "报价偏高").await?;
    fill(driver, "report-market-input", "竞品降价一成").await?;
    by_id(driver, "report-submit").await?.click().await?;
    wait_for_url(driver, "the submitted report", |u| {
        u.path() == "/reports/daily" && u.query().is_some_and(|q| q.contains("saved=1"))
    })
    .await?;
    text_with(driver, "report-saved", "日报已提交").await?;
    text_with(driver, "report-status", "已提交").await?;
    ensure!(
        driver.current_url().await?.as_str().contains(day),
        "the report is the day's"
    );
    Ok(())
}

async fn supervisor_comments(
    driver: &WebDriver,
    app: &TestApp,
    agent: i64,
    day: &str,
) -> Result<()> {
    driver.delete_all_cookies().await?;
    log_in(driver, app, "sup_a").await?;
    open_reports_menu(driver).await?;
    by_id(driver, "nav-team-reports").await?.click().await?;
    wait_for_url(driver, "the team's day", |u| {
        u.path() == "/reports/daily/team"
    })
    .await?;
    let row = text_with(driver, &format!("member-{agent}"), "已提交").await?;
    ensure!(row.contains("张伟"), "the row reads {row:?}");
    let missing = by_id(driver, &format!("member-{}", app.org.agent_a2))
        .await?
        .text()
        .await?;
    ensure!(
        missing.contains("未提交"),
        "李娜 has not submitted: {missing:?}"
    );
    driver
        .find(By::Css(format!("#member-{agent} a")))
        .await?
        .click()
        .await?;
    wait_for_url(driver, "the agent's report", |u| {
        u.path() == format!("/reports/daily/{agent}/{day}")
    })
    .await?;
    text_with(driver, "report-summary", "客户有意向").await?;
    fill(driver, "comment-body", COMMENT).await?;
    by_id(driver, "comment-submit").await?.click().await?;
    text_with(driver, "report-comments", COMMENT).await?;
    Ok(())
}

async fn agent_reads_the_comment(driver: &WebDriver, app: &TestApp, day: &str) -> Result<()> {
    driver.delete_all_cookies().await?;
    log_in(driver, app, "agent_a1").await?;
    driver
        .goto(app.url(&format!("/reports/daily?date={day}")))
        .await?;
    let comments = text_with(driver, "report-comments", COMMENT).await?;
    ensure!(
        comments.contains("王主管"),
        "the comment reads {comments:?}"
    );
    ensure!(
        driver.find_all(By::Id("report-form")).await?.is_empty(),
        "a commented report is no longer editable"
    );
    Ok(())
}

#[tokio::test]
async fn an_agent_submits_the_days_report_and_the_supervisors_comment_comes_back() {
    let app = TestApp::spawn().await;
    open_all_day(&app.api("admin").await).await;
    let agent = app.api("agent_a1").await;
    let id = lead(&agent, "陈静", 24).await;
    let (s, b) = post(
        &agent,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "connected", "intent": "有意向", "duration_s": 120}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let day = b["day"].as_str().unwrap().to_string();
    let year = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .unwrap()
        .year();
    let months: Vec<Value> = (1..=12).map(|_| json!({"calls": 200})).collect();
    let (s, b) = send(
        &app.api("sup_a").await,
        reqwest::Method::PUT,
        &format!("/api/v1/targets/{}/{year}", app.org.agent_a1),
        json!({ "months": months }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let agent_id = app.org.agent_a1.0;
    let app = &app;
    let day = &day;
    in_browser("daily report story", |driver| async move {
        agent_submits(&driver, app, day).await?;
        supervisor_comments(&driver, app, agent_id, day).await?;
        agent_reads_the_comment(&driver, app, day).await?;
        Ok(())
    })
    .await;
}
