//! Browser test of voicemail filing (issue 27), in headless Chromium: the admin opens 语音留言,
//! re-files a caller's complaint as a suggestion and passes it to a supervisor with a note; the
//! supervisor finds the notice in the workspace, follows it to the voicemail, whose audio
//! element loads and decodes the whole recording, and marks it done.

use anyhow::{Result, anyhow, ensure};
use serde_json::Value;
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

use crate::browser::{by_id, fill, in_browser, log_in_to_landing, wait_for_url};
use crate::helpers::TestApp;
use crate::voicemail_filing::left_voicemail;

async fn choose(driver: &WebDriver, id: &str, value: &str) -> Result<()> {
    SelectElement::new(&by_id(driver, id).await?)
        .await?
        .select_by_value(value)
        .await?;
    Ok(())
}

/// The text of the first element matching `css` inside voicemail `id`'s card.
async fn card_text(driver: &WebDriver, id: i64, css: &str) -> Result<String> {
    Ok(driver
        .query(By::Css(format!("#vm-{id} {css}")))
        .first()
        .await?
        .text()
        .await?)
}

async fn admin_passes_it_on(driver: &WebDriver, app: &TestApp, id: i64) -> Result<()> {
    log_in_to_landing(driver, app, "admin").await?;
    driver.goto(app.url("/voicemails")).await?;
    // The page is linked from the admin's navigation.
    let link = by_id(driver, "nav-voicemails").await?;
    ensure!(
        link.attr("href").await?.as_deref() == Some("/voicemails"),
        "the nav links the voicemails"
    );
    ensure!(
        card_text(driver, id, ".vm-category").await? == "投诉",
        "the caller's category is shown first"
    );
    choose(driver, &format!("refile-category-{id}"), "suggestion").await?;
    choose(
        driver,
        &format!("refile-assignee-{id}"),
        &app.org.sup_a.0.to_string(),
    )
    .await?;
    fill(driver, &format!("refile-note-{id}"), "请今天回电").await?;
    by_id(driver, &format!("refile-submit-{id}"))
        .await?
        .click()
        .await?;
    wait_for_url(driver, "the saved list", |u| {
        u.query().is_some_and(|q| q.contains("saved="))
    })
    .await?;
    by_id(driver, "voicemail-saved").await?;
    let status = card_text(driver, id, ".vm-status").await?;
    let assignee = card_text(driver, id, ".vm-assignee").await?;
    ensure!(
        (status.as_str(), assignee.as_str()) == ("已转交", "王主管"),
        "after re-filing: {status} / {assignee}"
    );
    Ok(())
}

/// Loads the whole recording in the page's audio element: `[readyState, duration, error]`.
const LOAD_AUDIO: &str = "
    const [id, done] = arguments;
    const a = document.getElementById(id);
    const report = () => done([a.readyState, a.duration, a.error ? a.error.code : null]);
    if (a.readyState >= 4) { report(); return; }
    a.addEventListener('canplaythrough', report, {once: true});
    a.addEventListener('error', report, {once: true});
    a.preload = 'auto';
    a.load();";

async fn supervisor_hears_it(driver: &WebDriver, app: &TestApp, id: i64) -> Result<()> {
    log_in_to_landing(driver, app, "sup_a").await?;
    driver.goto(app.url("/workspace")).await?;
    let notice = driver
        .query(By::Css("#ws-notices a"))
        .with_text(format!("语音留言 #{id} 已转交给你处理"))
        .desc("the voicemail notice in the workspace")
        .first()
        .await?;
    notice.click().await?;
    wait_for_url(driver, "the voicemail list", |u| u.path() == "/voicemails").await?;
    by_id(driver, "nav-voicemails").await?;
    let category = card_text(driver, id, ".vm-category").await?;
    let note = card_text(driver, id, ".vm-note").await?;
    ensure!(
        category == "建议" && note.contains("请今天回电"),
        "the supervisor sees {category} / {note}"
    );
    ensure!(
        driver
            .find_all(By::Css(format!("#refile-{id}")))
            .await?
            .is_empty(),
        "the re-filing form is for admins only"
    );
    let audio_id = format!("vm-audio-{id}");
    let audio = by_id(driver, &audio_id).await?;
    ensure!(
        audio.attr("controls").await?.is_some(),
        "the player has controls"
    );
    let loaded = driver
        .execute_async(LOAD_AUDIO, vec![Value::from(audio_id)])
        .await?;
    let loaded = loaded.json();
    let ready = loaded[0].as_i64().ok_or_else(|| anyhow!("{loaded}"))?;
    let duration = loaded[1].as_f64().unwrap_or(0.0);
    ensure!(
        ready == 4 && loaded[2].is_null() && (duration - 2.0).abs() < 0.05,
        "the audio element decodes the whole 2 s recording: {loaded}"
    );

    by_id(driver, &format!("done-submit-{id}"))
        .await?
        .click()
        .await?;
    wait_for_url(driver, "the saved list", |u| {
        u.query().is_some_and(|q| q.contains("saved="))
    })
    .await?;
    let status = card_text(driver, id, ".vm-status").await?;
    ensure!(status == "已处理", "after done: {status}");
    Ok(())
}

#[tokio::test]
async fn the_admin_passes_a_voicemail_to_a_supervisor_who_plays_it_and_closes_it() {
    let app = TestApp::spawn().await;
    let (id, _) = left_voicemail(&app, "browser@test", "complaint").await;
    let app = &app;
    in_browser("voicemail: admin re-files", |driver| async move {
        admin_passes_it_on(&driver, app, id).await
    })
    .await;
    in_browser("voicemail: supervisor plays", |driver| async move {
        supervisor_hears_it(&driver, app, id).await
    })
    .await;
    let (_, body) = app
        .api("sup_a")
        .await
        .get_json("/api/v1/voicemails?status=done")
        .await;
    assert_eq!(body["voicemails"][0]["id"], id, "{body}");
}
