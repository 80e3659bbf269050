//! A floor's day in the browser without lost input or dead ends (issue 25): another script in
//! the pane keeps the call form, next call with an unsaved form asks first, a saved call updates
//! the lead card in place, "skip" moves on, and the lead page leads to the call form.

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use serde_json::json;
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

use crate::browser::{by_id, fill, in_browser, log_in, wait_for_url};
use crate::helpers::{Api, TestApp, mobile};
use crate::workspace::open_all_hours;

/// Marks the page: a reload or navigation loses the mark.
pub(crate) async fn mark_page(driver: &WebDriver) -> anyhow::Result<()> {
    driver
        .execute("window.__stayed = true;", Vec::new())
        .await?;
    Ok(())
}

pub(crate) async fn page_stayed(driver: &WebDriver) -> anyhow::Result<bool> {
    let stayed = driver
        .execute("return window.__stayed === true;", Vec::new())
        .await?;
    Ok(stayed.json() == true)
}

async fn script(api: &Api, title: &str, body: &str) -> i64 {
    let res = api
        .post(
            "/api/v1/scripts",
            json!({"title": title, "body": body, "category": "开场"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn served_lead(driver: &WebDriver) -> anyhow::Result<String> {
    wait_for_url(driver, "the served lead", |u| {
        u.path() == "/workspace" && u.query().unwrap_or("").contains("lead=")
    })
    .await?;
    Ok(by_id(driver, "ws-lead-name").await?.text().await?)
}

async fn value(driver: &WebDriver, id: &str) -> anyhow::Result<String> {
    Ok(by_id(driver, id)
        .await?
        .prop("value")
        .await?
        .unwrap_or_default())
}

#[tokio::test]
async fn another_script_and_an_unsaved_next_call_keep_the_call_form_and_a_save_updates_the_card() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    agent
        .create_lead(json!({"name": "王芳", "phones": [mobile(2531)]}))
        .await;
    let first = script(&agent, "开场白", "您好，{{lead.name}}。").await;
    let second = script(&agent, "异议处理", "我理解您的顾虑，{{lead.name}}。").await;

    in_browser("floor-lost-input", |driver| async move {
        log_in(&driver, &app, "agent_a1").await?;
        driver.goto(app.url("/workspace")).await?;
        by_id(&driver, "next-call").await?.click().await?;
        ensure!(served_lead(&driver).await? == "王芳");
        let before = by_id(&driver, "ws-lead-status").await?.text().await?;
        mark_page(&driver).await?;

        driver
            .find(By::Css("button.disp[data-code='connected']"))
            .await?
            .click()
            .await?;
        fill(&driver, "call-notes", "客户说下午三点再打").await?;

        // Another script: the pane shows it, the page stays and the form keeps its input.
        let chosen = value(&driver, "script-select").await?;
        let other = if chosen == first.to_string() { second } else { first };
        let title = if other == first { "开场白" } else { "异议处理" };
        SelectElement::new(&by_id(&driver, "script-select").await?)
            .await?
            .select_by_value(&other.to_string())
            .await?;
        driver
            .query(By::Id("pane-script-title"))
            .ignore_errors(true)
            .with_text(title.to_string())
            .first()
            .await
            .context("the pane shows the other script")?;
        ensure!(page_stayed(&driver).await?, "choosing a script reloaded the page");
        ensure!(value(&driver, "call-notes").await? == "客户说下午三点再打");
        ensure!(value(&driver, "call-disposition").await? == "connected");
        ensure!(value(&driver, "call-script").await? == other.to_string());
        ensure!(
            by_id(&driver, "lead-script").await?.text().await?.contains("王芳"),
            "the other script is filled for the lead"
        );

        // N with the form unsaved asks first; declining keeps everything.
        driver
            .execute(
                "window.__asked = null; window.confirm = function (m) { window.__asked = m; return false; };",
                Vec::new(),
            )
            .await?;
        driver.find(By::Tag("body")).await?.send_keys("n").await?;
        let asked = driver
            .execute("return window.__asked;", Vec::new())
            .await?;
        ensure!(
            asked.json().as_str().unwrap_or("").contains("还没有保存"),
            "N asked {:?}",
            asked.json()
        );
        ensure!(page_stayed(&driver).await?, "N left the page");
        ensure!(value(&driver, "call-notes").await? == "客户说下午三点再打");

        // Saved: the card's status and history follow without a reload.
        by_id(&driver, "call-save").await?.click().await?;
        driver
            .query(By::Css("#ws-calls tbody tr"))
            .ignore_errors(true)
            .with_text(containing("客户说下午三点再打"))
            .first()
            .await
            .context("the saved call is in the card's history")?;
        let after = by_id(&driver, "ws-lead-status").await?.text().await?;
        ensure!(after != before, "status still {before:?}");
        ensure!(after == "已联系", "status {after:?}");
        ensure!(page_stayed(&driver).await?, "saving reloaded the page");
        // Nothing unsaved now: N goes on without asking (here: nothing left to call).
        driver
            .execute("window.__asked = null;", Vec::new())
            .await?;
        driver.find(By::Tag("body")).await?.send_keys("n").await?;
        driver
            .query(By::Id("ws-status"))
            .with_text(containing("没有可拨打"))
            .first()
            .await
            .context("next call answered")?;
        let asked = driver
            .execute("return window.__asked;", Vec::new())
            .await?;
        ensure!(asked.json().is_null(), "N asked {:?} after the save", asked.json());
        Ok(())
    })
    .await;
}

/// A `with_text` matcher: the text contains `s`.
fn containing(s: &str) -> thirtyfour::stringmatch::StringMatch {
    thirtyfour::stringmatch::StringMatch::new(s).partial()
}

#[tokio::test]
async fn skip_gives_the_lead_back_and_serves_the_next_one() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    for (name, n) in [("赵一", 2541), ("钱二", 2542)] {
        agent
            .create_lead(json!({"name": name, "phones": [mobile(n)]}))
            .await;
    }
    in_browser("floor-skip", |driver| async move {
        log_in(&driver, &app, "agent_a1").await?;
        driver.goto(app.url("/workspace")).await?;
        by_id(&driver, "next-call").await?.click().await?;
        ensure!(served_lead(&driver).await? == "赵一");
        let first_url = driver.current_url().await?.to_string();
        by_id(&driver, "skip-lead").await?.click().await?;
        wait_for_url(&driver, "another lead", |u| {
            u.as_str() != first_url && u.query().unwrap_or("").contains("lead=")
        })
        .await?;
        let name = by_id(&driver, "ws-lead-name").await?.text().await?;
        ensure!(name == "钱二", "skip served {name:?}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_customer_calling_back_is_one_click_from_the_call_form_on_the_lead_page() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "孙三", "phones": [mobile(2551)]}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    in_browser("floor-lead-page", |driver| async move {
        log_in(&driver, &app, "agent_a1").await?;
        driver.goto(app.url(&format!("/leads/{id}"))).await?;
        let phone = driver.find(By::Css("#lead-phones a.phone")).await?;
        let href = phone.attr("href").await?.unwrap_or_default();
        ensure!(href.starts_with("tel:+86"), "phone links to {href:?}");
        let open = by_id(&driver, "open-in-workspace").await?;
        ensure!(open.attr("href").await?.unwrap_or_default() == format!("/workspace?lead={id}"));
        by_id(&driver, "log-call").await?.click().await?;
        ensure!(served_lead(&driver).await? == "孙三");
        by_id(&driver, "call-form").await?;
        by_id(&driver, "call-save").await?;
        Ok(())
    })
    .await;
}
