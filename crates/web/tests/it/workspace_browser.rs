//! Browser test of the agent workspace (headless Chromium through the harness in `browser.rs`):
//! next call, a call recorded with the keyboard, counters that move without a reload, the
//! revisit the rule scheduled, the script pane filled with the lead's name and the knowledge
//! search pane.

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use serde_json::json;
use thirtyfour::prelude::*;

use crate::browser::{by_id, fill, in_browser, log_in, wait_for_url};
use crate::helpers::{TestApp, mobile};
use crate::workspace::open_all_hours;

#[tokio::test]
async fn an_agent_calls_the_next_lead_records_the_call_by_keyboard_and_sees_the_counters_move() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    agent
        .create_lead(json!({"name": "王芳", "company": "星河科技", "phones": [mobile(9101)]}))
        .await;
    let res = agent
        .post(
            "/api/v1/scripts",
            json!({"title": "开场白", "body": "您好，{{lead.name}}，我是{{agent.name}}。", "category": "开场"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let admin = app.api("admin").await;
    let res = admin
        .post(
            "/api/v1/kb/articles",
            json!({"title": "价格异议怎么回应", "body": "客户说**太贵了**时，先认同，再讲价值。", "category": "异议处理"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, today) = agent.get_json("/api/v1/agent/today").await;
    let target = today["target"].as_i64().unwrap();

    in_browser("workspace", |driver| async move {
        log_in(&driver, &app, "agent_a1").await?;
        by_id(&driver, "nav-workspace").await?.click().await?;
        wait_for_url(&driver, "/workspace", |u| u.path() == "/workspace").await?;
        ensure!(by_id(&driver, "ws-done").await?.text().await? == "0");
        by_id(&driver, "next-call").await?.click().await?;
        wait_for_url(&driver, "the served lead", |u| {
            u.path() == "/workspace" && u.query().unwrap_or("").contains("lead=")
        })
        .await?;
        let name = by_id(&driver, "ws-lead-name").await?.text().await?;
        ensure!(name == "王芳", "served {name:?}");
        // The script pane greets the lead by name.
        let script = by_id(&driver, "lead-script").await?.text().await?;
        ensure!(
            script.contains("您好，王芳"),
            "script pane shows {script:?}"
        );

        // Mark the page: a reload would lose the mark.
        driver
            .execute("window.__stayed = true;", Vec::new())
            .await?;
        // "1" is the hotkey of 已接通 (connected).
        driver.find(By::Tag("body")).await?.send_keys("1").await?;
        let pressed = driver
            .query(By::Css(
                "button.disp[data-code='connected'][aria-pressed='true']",
            ))
            .first()
            .await
            .context("the connected button is chosen by its hotkey")?;
        ensure!(pressed.text().await?.contains("已接通"));
        let intent = by_id(&driver, "call-intent").await?;
        thirtyfour::components::SelectElement::new(&intent)
            .await?
            .select_by_value("interested")
            .await?;
        // The rule's revisit is prefilled once disposition and intent are chosen.
        let field = by_id(&driver, "call-revisit").await?;
        let mut prefilled = String::new();
        for _ in 0..100 {
            prefilled = field.prop("value").await?.unwrap_or_default();
            if !prefilled.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        ensure!(!prefilled.is_empty(), "the revisit field was not prefilled");
        fill(&driver, "call-duration", "95").await?;
        by_id(&driver, "call-save").await?.click().await?;

        driver
            .query(By::Id("ws-done"))
            .with_text("1".to_string())
            .first()
            .await
            .context("done went up by one")?;
        let remaining = by_id(&driver, "ws-remaining").await?.text().await?;
        ensure!(
            remaining == (target - 1).to_string(),
            "remaining {remaining}, target {target}"
        );
        let stayed = driver
            .execute("return window.__stayed === true;", Vec::new())
            .await?;
        ensure!(stayed.json() == true, "the page was reloaded");
        // The rule (connected, interested: one day later) scheduled the revisit, now listed.
        driver
            .query(By::Css("#ws-revisits li a"))
            .with_text("王芳".to_string())
            .first()
            .await
            .context("the scheduled revisit is in the list")?;

        // The knowledge pane searches as the agent types and opens the article.
        fill(&driver, "kb-search", "太贵").await?;
        let hit = driver
            .query(By::Css("#kb-search-results li.hit a"))
            .first()
            .await
            .context("a search result")?;
        let href = hit.attr("href").await?.unwrap_or_default();
        ensure!(href.starts_with("/kb/articles/"), "hit links to {href}");
        driver.goto(format!("{}{href}", app.base)).await?;
        let title = by_id(&driver, "article-title").await?.text().await?;
        ensure!(title == "价格异议怎么回应", "opened {title:?}");
        Ok(())
    })
    .await;
}
