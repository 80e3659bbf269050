//! Browser test of the agent's knowledge panes: headless Chromium (the shared harness in
//! `browser.rs`) opens a lead, sees its script filled in with the lead's name, searches the
//! knowledge base as it types and opens the article it found.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use serde_json::json;
use thirtyfour::prelude::*;

use crate::browser::{by_id, in_browser, log_in};
use crate::helpers::{TestApp, mobile};

const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// The steps of the test, run while the browser is open.
async fn agent_uses_the_panes(driver: &WebDriver, app: &TestApp, lead_id: i64) -> Result<()> {
    log_in(driver, app, "agent_a1").await?;

    driver.goto(app.url(&format!("/leads/{lead_id}"))).await?;
    let script = by_id(driver, "lead-script").await?;
    let text = script.text().await?;
    ensure!(
        text.starts_with("王小明您好，我是张伟"),
        "the script pane shows {text:?}"
    );
    let filled = script.find(By::Css("span.ph")).await?.text().await?;
    ensure!(filled == "王小明", "the filled placeholder is {filled:?}");

    // Search as you type: no button, the results appear while typing.
    by_id(driver, "kb-search")
        .await?
        .send_keys("客户说太贵了")
        .await?;
    let link = driver
        .query(By::Css("#kb-search-results li.hit a"))
        .with_text("价格异议：客户嫌贵怎么回应 (Price objections)".to_string())
        .desc("the price-objection article among the results")
        .first()
        .await?;
    let marks = driver
        .find_all(By::Css("#kb-search-results li.hit .snippet mark"))
        .await?;
    ensure!(!marks.is_empty(), "snippets mark the hits");
    let before = driver.windows().await?;
    link.click().await?;
    // Articles open in a new tab, so the call's lead page stays where it was.
    let deadline = Instant::now() + WAIT;
    let tab = loop {
        let now = driver.windows().await?;
        if let Some(t) = now.iter().find(|w| !before.contains(w)) {
            break t.clone();
        }
        ensure!(Instant::now() < deadline, "no new tab for the article");
        tokio::time::sleep(POLL).await;
    };
    driver.switch_to_window(tab).await?;
    let title = driver
        .query(By::Id("article-title"))
        .with_text("价格异议：客户嫌贵怎么回应 (Price objections)".to_string())
        .desc("the article page")
        .first()
        .await?;
    ensure!(title.is_displayed().await?, "the article title is shown");
    let body = by_id(driver, "article-body").await?.text().await?;
    ensure!(
        body.contains("拆分成本"),
        "the article body is rendered: {body}"
    );
    Ok(())
}

#[tokio::test]
async fn an_agent_reads_the_script_and_finds_an_article_from_the_lead_page() {
    let app = TestApp::spawn().await;
    let admin = leadline_store::auth::users::find_for_login(&app.db, "admin")
        .await
        .unwrap()
        .unwrap()
        .0;
    let viewer = leadline_store::auth::users::viewer(&app.db, &admin)
        .await
        .unwrap();
    leadline_store::demo::kb::seed_articles(&app.db, &viewer)
        .await
        .unwrap();
    let sup = app.api("sup_a").await;
    let res = sup
        .post(
            "/api/v1/scripts",
            json!({"title": "标准开场白", "shared": true,
                "body": "{{lead.name}}您好，我是{{agent.name}}，很多和{{lead.company}}一样的企业都在用我们的系统。"}),
        )
        .await;
    let script: serde_json::Value = res.json().await.unwrap();
    let res = sup
        .post(&format!("/api/v1/scripts/{}/pin", script["id"]), json!({}))
        .await;
    assert!(res.status().is_success());
    let lead = app
        .api("agent_a1")
        .await
        .create_lead(json!({"name": "王小明", "phone": mobile(11), "company": "星河科技"}))
        .await;
    let lead_id = lead["id"].as_i64().unwrap();

    let app = &app;
    in_browser("knowledge panes", |driver| async move {
        agent_uses_the_panes(&driver, app, lead_id).await
    })
    .await;
}
