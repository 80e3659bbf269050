//! Browser test of the agent's knowledge panes: headless Chromium (through chromedriver and
//! thirtyfour) opens a lead, sees its script filled in with the lead's name, searches the
//! knowledge base as it types and opens the article it found. Needs the Debian packages
//! `chromium` and `chromium-driver`; `CHROMEDRIVER` and `CHROME_BIN` override their paths.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;
use thirtyfour::extensions::query::ElementPollerWithTimeout;
use thirtyfour::prelude::*;

use crate::helpers::{PASSWORD, TestApp, mobile};

const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// chromedriver on a free port, with its own Chromium profile directory; both cleaned up on drop.
struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Driver {
    async fn start() -> Result<Driver> {
        let exe = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&exe)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {exe}: install chromium and chromium-driver"))?;
        let profile =
            std::env::temp_dir().join(format!("leadline-kb-browser-{}-{port}", std::process::id()));
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = driver.child.try_wait()? {
                bail!("chromedriver exited early ({status})");
            }
            if let Ok(res) = http.get(format!("{}/status", driver.url)).send().await
                && res.status().is_success()
            {
                return Ok(driver);
            }
            ensure!(
                Instant::now() < deadline,
                "chromedriver not ready after {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn browser(&self) -> Result<WebDriver> {
        let chromium = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium)?;
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--no-first-run",
            "--window-size=1280,1024",
        ] {
            caps.add_arg(arg)?;
        }
        caps.add_arg(&format!("--user-data-dir={}", self.profile.display()))?;
        Ok(WebDriver::builder(&self.url, caps)
            .poller(Arc::new(ElementPollerWithTimeout::new(WAIT, POLL)))
            .request_timeout(Duration::from_secs(60))
            .await?)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn by_id(driver: &WebDriver, id: &str) -> Result<WebElement> {
    Ok(driver.query(By::Id(id)).desc(id).first().await?)
}

/// The steps of the test, run while the browser is open.
async fn agent_uses_the_panes(driver: &WebDriver, app: &TestApp, lead_id: i64) -> Result<()> {
    driver.goto(app.url("/login")).await?;
    by_id(driver, "username")
        .await?
        .send_keys("agent_a1")
        .await?;
    by_id(driver, "password").await?.send_keys(PASSWORD).await?;
    by_id(driver, "login-submit").await?.click().await?;
    driver
        .query(By::Id("filters"))
        .desc("the lead list after signing in")
        .first()
        .await?;

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
    let admin = leadline_store::users::find_for_login(&app.db, "admin")
        .await
        .unwrap()
        .unwrap()
        .0;
    let viewer = leadline_store::users::viewer(&app.db, &admin)
        .await
        .unwrap();
    leadline_store::demo_kb::seed_articles(&app.db, &viewer)
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

    let driver = Driver::start().await.expect("chromedriver");
    let browser = driver.browser().await.expect("headless Chromium");
    let outcome = agent_uses_the_panes(&browser, &app, lead_id).await;
    let page = match &outcome {
        Ok(()) => String::new(),
        Err(_) => browser
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default(),
    };
    // Always quit the browser, whatever happened.
    let quit = browser.quit().await;
    if let Err(e) = outcome {
        panic!("{e:#} (at {page})");
    }
    quit.expect("quitting the browser");
}
