//! Browser test of the supervisor's live view (headless Chromium through the harness in
//! `browser.rs`): a call recorded through the API moves the agent's numbers on the open page
//! without a reload.

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use serde_json::json;
use thirtyfour::prelude::*;

use crate::browser::{by_id, in_browser, log_in};
use crate::helpers::{TestApp, mobile};
use crate::workspace::open_all_hours;

#[tokio::test]
async fn the_supervisors_live_view_shows_a_recorded_call_without_reloading() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "看板客户", "phones": [mobile(8901)]}))
        .await;
    let row = format!("#live-agents tr[data-agent='{}']", app.org.agent_a1.0);

    in_browser("live view", |driver| async move {
        log_in(&driver, &app, "sup_a").await?;
        driver.goto(app.url("/supervisor/live")).await?;
        let calls = driver
            .find(By::Css(format!("{row} [data-k='calls']")))
            .await?;
        ensure!(calls.text().await? == "0");
        // The stream's first view has arrived once the status says so.
        driver
            .query(By::Id("live-status"))
            .with_text("实时更新".to_string())
            .first()
            .await
            .context("the live stream connected")?;
        // Mark the page: a reload would lose the mark.
        driver
            .execute("window.__stayed = true;", Vec::new())
            .await?;

        let recorded = agent
            .post(
                &format!("/api/v1/leads/{}/calls", lead["id"]),
                json!({"disposition": "connected", "intent": "interested", "duration_s": 75}),
            )
            .await;
        ensure!(recorded.status() == StatusCode::CREATED);

        driver
            .query(By::Css(format!("{row} [data-k='calls']")))
            .with_text("1".to_string())
            .first()
            .await
            .context("the agent's calls went up by one")?;
        let talk = driver
            .find(By::Css(format!("{row} [data-k='talk']")))
            .await?;
        ensure!(
            talk.text().await? == "1:15",
            "talk time {:?}",
            talk.text().await?
        );
        let total = driver
            .find(By::Css("#live-agents tfoot tr [data-k='calls']"))
            .await?;
        ensure!(
            total.text().await? == "1",
            "team total {:?}",
            total.text().await?
        );
        let stayed = driver
            .execute("return window.__stayed === true;", Vec::new())
            .await?;
        ensure!(stayed.json() == true, "the page was reloaded");
        let _ = by_id(&driver, "live-day").await?;
        Ok(())
    })
    .await;
}
