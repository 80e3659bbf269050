//! Browser test of a collision case (撞单): headless Chromium (the shared harness in
//! `browser.rs`). An agent enters a number a colleague owns, sees the collision screen and
//! submits the case; the two cannot settle (escalate); the supervisor decides; the ledger page
//! shows the penalty in 元.

use anyhow::{Result, ensure};
use serde_json::json;
use thirtyfour::prelude::*;

use crate::browser::{by_id, fill, in_browser, log_in, wait_for_url};
use crate::helpers::{TestApp, mobile};

/// The text of `#id` once it contains `needle`, found again on each try (a form post reloads
/// the page under the old element).
async fn text_with(driver: &WebDriver, id: &str, needle: &str) -> Result<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Ok(e) = driver.find(By::Id(id)).await
            && let Ok(t) = e.text().await
            && t.contains(needle)
        {
            return Ok(t);
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "#{id} never showed {needle:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn the_case_goes_to_the_supervisor(driver: &WebDriver, app: &TestApp) -> Result<()> {
    log_in(driver, app, "agent_a2").await?;
    driver.goto(app.url("/leads/new")).await?;
    fill(driver, "name", "陈总").await?;
    fill(driver, "phones", &mobile(50)).await?;
    by_id(driver, "save-lead").await?.click().await?;
    let screen = by_id(driver, "collision-screen").await?;
    let error = by_id(driver, "form-error").await?.text().await?;
    ensure!(
        error.contains("张伟"),
        "the refusal names the owner: {error}"
    );
    screen
        .find(By::Id("submit-collision"))
        .await?
        .click()
        .await?;
    let url = wait_for_url(driver, "the case page", |u| {
        u.path().starts_with("/collisions/")
    })
    .await?;
    let case_path = url.path().to_string();
    by_id(driver, "escalate").await?.click().await?;
    text_with(driver, "case-stage", "主管裁定").await?;

    driver.delete_all_cookies().await?;
    log_in(driver, app, "sup_a").await?;
    driver.goto(app.url(&case_path)).await?;
    let decide = by_id(driver, "decide").await?;
    ensure!(decide.text().await?.contains("30%"), "the penalty is shown");
    by_id(driver, "decide-note")
        .await?
        .send_keys("先联系")
        .await?;
    decide.click().await?;
    text_with(driver, "case-winner", "张伟").await?;
    driver.goto(app.url("/collision-ledger")).await?;
    let ledger = by_id(driver, "ledger").await?.text().await?;
    ensure!(
        ledger.contains("1370.37"),
        "the ledger shows the penalty: {ledger}"
    );
    Ok(())
}

#[tokio::test]
async fn an_agent_opens_a_case_from_the_entry_screen_and_the_supervisor_decides_it() {
    let app = TestApp::spawn().await;
    for user in [app.org.agent_a1, app.org.agent_a2] {
        leadline_store::db::sql::execute(
            &app.db,
            "UPDATE users SET base_pay_fen = $1 WHERE id = $2",
            vec![
                leadline_store::db::sql::Arg::I64(456_789),
                leadline_store::db::sql::Arg::I64(user.0),
            ],
        )
        .await
        .unwrap();
    }
    app.api("agent_a1")
        .await
        .create_lead(json!({"name": "陈女士", "phone": mobile(50)}))
        .await;
    let app = &app;
    in_browser("collision case", |driver| async move {
        the_case_goes_to_the_supervisor(&driver, app).await
    })
    .await;
}
