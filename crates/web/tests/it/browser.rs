//! Browser tests: headless Chromium, driven through chromedriver by thirtyfour, against the real
//! server. Every test starts its own chromedriver (about 0.1 s) and its own browser with a fresh
//! profile, and always quits the browser, even when the test fails.
//!
//! They need the Debian packages `chromium` and `chromium-driver`; without them they fail
//! (they are never skipped). `CHROMEDRIVER` and `CHROME_BIN` override the binaries' paths.

use std::fs::File;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};
use thirtyfour::components::SelectElement;
use thirtyfour::extensions::query::ElementPollerWithTimeout;
use thirtyfour::prelude::*;
use thirtyfour::{ChromeCapabilities, WebDriverRunError};

use crate::helpers::{PASSWORD, TestApp, mobile};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL_HINT: &str = "the browser tests need Chromium and chromedriver: \
    install the Debian packages `chromium chromium-driver` (apt-get install chromium chromium-driver)";

/// How long to wait for an element, a navigation or chromedriver.
const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A binary named by `env`, or the Debian default; its absence fails the test with the fix.
fn binary(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{} not found (set {env} to override the path); {INSTALL_HINT}",
        path.display()
    );
    path
}

/// A chromedriver child process on a free local port, killed on drop.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    /// Starts chromedriver and waits until it says it is ready; its output goes to `log`.
    async fn start(log: &Path) -> Result<Chromedriver> {
        let exe = binary("CHROMEDRIVER", CHROMEDRIVER);
        let mut last_error = None;
        // The port is free when picked but may be taken before chromedriver binds it: retry.
        for _ in 0..3 {
            let port = {
                let probe = TcpListener::bind("127.0.0.1:0").context("binding a probe port")?;
                probe.local_addr()?.port()
            };
            let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
            let child = Command::new(&exe)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()
                .with_context(|| format!("starting {}; {INSTALL_HINT}", exe.display()))?;
            let mut driver = Chromedriver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            match driver.wait_ready().await {
                Ok(()) => return Ok(driver),
                Err(e) => {
                    let output = std::fs::read_to_string(log).unwrap_or_default();
                    last_error = Some(e.context(format!("chromedriver output:\n{output}")));
                }
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("chromedriver exited early ({status})");
            }
            if let Ok(res) = http.get(format!("{}/status", self.url)).send().await
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == json!(true)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("chromedriver at {} not ready after {WAIT:?}", self.url);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn capabilities(profile: &Path) -> Result<ChromeCapabilities> {
    let chromium = binary("CHROME_BIN", CHROMIUM);
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(&chromium.to_string_lossy())?;
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1280,1024",
    ] {
        caps.add_arg(arg)?;
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.display()))?;
    Ok(caps)
}

/// Runs `body` in a fresh headless browser, then quits the browser and stops chromedriver,
/// whatever happened. A failing body's error is reported with the page it was on.
pub(crate) async fn in_browser<F, Fut>(test: &str, body: F)
where
    F: FnOnce(WebDriver) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let started = Instant::now();
    let dir = TempDir::new("leadline-browser").expect("a temp dir for the browser");
    let chromedriver = Chromedriver::start(&dir.path().join("chromedriver.log"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver did not start: {e:#}\n{INSTALL_HINT}"));
    let driver_ready = started.elapsed();
    let caps = capabilities(&dir.path().join("profile")).expect("Chromium capabilities");
    let driver = WebDriver::builder(&chromedriver.url, caps)
        .poller(Arc::new(ElementPollerWithTimeout::new(WAIT, POLL)))
        .request_timeout(Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| {
            let log = std::fs::read_to_string(dir.path().join("chromedriver.log"));
            panic!(
                "could not start headless Chromium: {e}\nchromedriver output:\n{}\n{INSTALL_HINT}",
                log.unwrap_or_default()
            )
        });
    let session_ready = started.elapsed();
    let result = driver
        .run_and_quit(|driver| async move {
            match body(driver.clone()).await {
                Ok(()) => Ok(started.elapsed()),
                Err(e) => Err(anyhow!("{e:#}\n\n{}", where_we_were(&driver).await)),
            }
        })
        .await;
    drop(chromedriver);
    match result {
        Ok(body_done) => eprintln!(
            "{test}: chromedriver {driver_ready:.2?}, browser {:.2?}, test {:.2?}, quit {:.2?}",
            session_ready - driver_ready,
            body_done - session_ready,
            started.elapsed() - body_done,
        ),
        Err(WebDriverRunError::Body(e)) => panic!("{e}"),
        Err(WebDriverRunError::Cleanup(e)) => panic!("quitting the browser failed: {e}"),
        Err(WebDriverRunError::BodyAndCleanup { body, cleanup }) => {
            panic!("{body}\n(quitting the browser also failed: {cleanup})")
        }
        Err(e) => panic!("{e}"),
    }
}

/// The current page, for a failure message.
async fn where_we_were(driver: &WebDriver) -> String {
    let url = driver
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_else(|e| format!("(no URL: {e})"));
    let text = match driver.find(By::Tag("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(e) => format!("(no page: {e})"),
    };
    let text: String = text.chars().take(2000).collect();
    format!("the browser was at {url}, showing:\n{text}")
}

/// Waits for an element by id.
pub(crate) async fn by_id(driver: &WebDriver, id: &str) -> Result<WebElement> {
    Ok(driver
        .query(By::Id(id))
        .desc(&format!("#{id}"))
        .first()
        .await?)
}

/// Waits for an element by id whose text is exactly `text`.
pub(crate) async fn by_id_with_text(
    driver: &WebDriver,
    id: &str,
    text: &str,
) -> Result<WebElement> {
    Ok(driver
        .query(By::Id(id))
        .with_text(text.to_string())
        .desc(&format!("#{id} saying {text:?}"))
        .first()
        .await?)
}

/// Types into an empty text field (or replaces its contents).
pub(crate) async fn fill(driver: &WebDriver, id: &str, text: &str) -> Result<()> {
    let field = by_id(driver, id).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    let typed = field.prop("value").await?.unwrap_or_default();
    ensure!(typed == text, "#{id} holds {typed:?} after typing {text:?}");
    Ok(())
}

async fn choose(driver: &WebDriver, id: &str, value: &str) -> Result<()> {
    SelectElement::new(&by_id(driver, id).await?)
        .await?
        .select_by_value(value)
        .await?;
    Ok(())
}

async fn field_value(driver: &WebDriver, id: &str) -> Result<String> {
    Ok(by_id(driver, id)
        .await?
        .prop("value")
        .await?
        .unwrap_or_default())
}

/// Waits until the browser has navigated to a URL satisfying `ok` and the page has loaded.
pub(crate) async fn wait_for_url(
    driver: &WebDriver,
    what: &str,
    ok: impl Fn(&reqwest::Url) -> bool,
) -> Result<reqwest::Url> {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = reqwest::Url::parse(driver.current_url().await?.as_str())?;
        if ok(&url) {
            let ready = driver
                .execute("return document.readyState", Vec::new())
                .await?;
            if ready.json() == "complete" {
                return Ok(url);
            }
        }
        if Instant::now() > deadline {
            bail!("no navigation to {what} within {WAIT:?} (still at {url})");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The HTTP status of the page the browser shows, fetched again with the browser's cookies.
async fn page_status(driver: &WebDriver) -> Result<u16> {
    let ret = driver
        .execute(
            "return fetch(location.href, {credentials: 'same-origin'}).then(r => r.status)",
            Vec::new(),
        )
        .await?;
    ret.json()
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| anyhow!("no status from fetch: {}", ret.json()))
}

/// Signs in through the login page, waits for the role's landing page, then opens the lead
/// list (where the tests start).
pub(crate) async fn log_in(driver: &WebDriver, app: &TestApp, username: &str) -> Result<()> {
    log_in_to_landing(driver, app, username).await?;
    driver.goto(app.url("/leads")).await?;
    by_id(driver, "filters").await?;
    Ok(())
}

/// Signs in through the login page and returns the page the role lands on.
pub(crate) async fn log_in_to_landing(
    driver: &WebDriver,
    app: &TestApp,
    username: &str,
) -> Result<reqwest::Url> {
    driver.goto(app.url("/login")).await?;
    fill(driver, "username", username).await?;
    fill(driver, "password", PASSWORD).await?;
    by_id(driver, "login-submit").await?.click().await?;
    wait_for_url(driver, "the landing page", |u| {
        u.path() != "/login" && u.path() != "/"
    })
    .await
}

/// The names in the lead table, or none when the list says there are no results.
async fn listed_names(driver: &WebDriver) -> Result<Vec<String>> {
    let table = driver
        .query(By::Id("lead-table"))
        .or(By::Id("no-results"))
        .first()
        .await?;
    if table.id().await?.as_deref() == Some("no-results") {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for link in table.find_all(By::ClassName("lead-link")).await? {
        names.push(link.text().await?);
    }
    Ok(names)
}

async fn create_industry_field(app: &TestApp) {
    let res = app
        .api("admin")
        .await
        .post(
            "/api/v1/custom-fields",
            json!({"key": "industry", "label_zh": "行业", "label_en": "Industry",
                "kind": "select", "options": ["教育", "医疗"]}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "creating the custom field"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_creates_a_lead_in_the_browser_and_finds_it_by_a_custom_field() {
    let app = TestApp::spawn().await;
    create_industry_field(&app).await;
    let a1 = app.api("agent_a1").await;
    let school = a1
        .create_lead(json!({"name": "育才中学 周校长", "phone": mobile(101),
            "custom": {"industry": "教育"}}))
        .await;
    assert_eq!(school["custom"]["industry"], "教育");
    let app = &app;
    in_browser("custom field", |driver| async move {
        log_in(&driver, app, "agent_a1").await?;

        by_id(&driver, "nav-new-lead").await?.click().await?;
        by_id(&driver, "lead-form").await?;
        fill(&driver, "name", "仁和医院 陈主任").await?;
        fill(&driver, "phones", &mobile(102)).await?;
        choose(&driver, "cf-industry", "医疗").await?;
        by_id(&driver, "save-lead").await?.click().await?;

        by_id_with_text(&driver, "lead-name", "仁和医院 陈主任").await?;
        let url = wait_for_url(&driver, "the new lead", |u| {
            u.path()
                .strip_prefix("/leads/")
                .is_some_and(|id| id.parse::<i64>().is_ok())
        })
        .await?;
        let custom: Vec<String> = {
            let mut v = Vec::new();
            for dd in driver.find_all(By::Css("dd.custom")).await? {
                v.push(dd.text().await?);
            }
            v
        };
        ensure!(
            custom == ["医疗"],
            "the detail page shows {custom:?} for 行业"
        );
        let phones = by_id(&driver, "lead-phones").await?.text().await?;
        ensure!(phones.contains(&mobile(102)), "phones shown: {phones:?}");

        driver
            .query(By::Css("header nav a[href='/leads']"))
            .first()
            .await?
            .click()
            .await?;
        wait_for_url(&driver, "the lead list", |u| {
            u.path() == "/leads" && u.query().is_none()
        })
        .await?;
        let mut all = listed_names(&driver).await?;
        all.sort();
        ensure!(
            all == ["仁和医院 陈主任", "育才中学 周校长"],
            "unfiltered list: {all:?}"
        );

        choose(&driver, "f-cf-industry", "医疗").await?;
        by_id(&driver, "apply-filters").await?.click().await?;
        wait_for_url(&driver, "the filtered list", |u| {
            u.query_pairs()
                .any(|(k, v)| k == "cf.industry" && v == "医疗")
        })
        .await?;
        let names = listed_names(&driver).await?;
        ensure!(
            names == ["仁和医院 陈主任"],
            "filtered by 行业=医疗: {names:?}"
        );
        let link = driver
            .query(By::ClassName("lead-link"))
            .first()
            .await?
            .attr("href")
            .await?;
        ensure!(
            link.as_deref() == Some(url.path()),
            "the row links to {link:?}, not {}",
            url.path()
        );
        let kept = SelectElement::new(&by_id(&driver, "f-cf-industry").await?)
            .await?
            .first_selected_option()
            .await?
            .value()
            .await?;
        ensure!(
            kept.as_deref() == Some("医疗"),
            "the filter shows {kept:?} after applying"
        );
        let total = by_id(&driver, "total-count").await?.text().await?;
        ensure!(total == "1", "the counts total {total}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_open_another_agents_lead_in_the_browser() {
    let app = TestApp::spawn().await;
    let secret_name = "李娜的客户 机密公司 孙总";
    let lead = app
        .api("agent_a2")
        .await
        .create_lead(json!({"name": secret_name, "phone": mobile(201), "company": "机密公司"}))
        .await;
    let id = lead["id"].as_i64().expect("a lead id");
    let app = &app;
    in_browser("not found", |driver| async move {
        log_in(&driver, app, "agent_a1").await?;
        let mut missing_page = None;
        for path in [
            "/leads/999999999".to_string(),
            format!("/leads/{id}"),
            format!("/leads/{id}/edit"),
        ] {
            driver.goto(app.url(&path)).await?;
            let message = by_id(&driver, "error-message").await?.text().await?;
            ensure!(
                message == "找不到该记录",
                "{path} says {message:?}, not the not-found message"
            );
            let status = page_status(&driver).await?;
            ensure!(status == 404, "{path} answered HTTP {status}");
            let source = driver.source().await?;
            for leak in [secret_name, "机密公司", "孙总", "李娜"] {
                ensure!(!source.contains(leak), "{path} reveals {leak:?}");
            }
            // The page for someone else's lead is the same as for a lead that does not exist.
            let text = driver.find(By::Tag("main")).await?.text().await?;
            match &missing_page {
                None => missing_page = Some(text),
                Some(missing) => ensure!(
                    *missing == text,
                    "{path} differs from a missing lead's page: {text:?} vs {missing:?}"
                ),
            }
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interface_switches_between_chinese_and_english() {
    let app = TestApp::spawn().await;
    let app = &app;
    in_browser("language", |driver| async move {
        driver.goto(app.url("/login")).await?;
        by_id_with_text(&driver, "login-submit", "登录").await?;
        let lang = driver.find(By::Tag("html")).await?.attr("lang").await?;
        ensure!(lang.as_deref() == Some("zh-CN"), "login page lang={lang:?}");

        by_id(&driver, "lang-switch").await?.click().await?;
        by_id_with_text(&driver, "login-submit", "Sign in").await?;
        let lang = driver.find(By::Tag("html")).await?.attr("lang").await?;
        ensure!(lang.as_deref() == Some("en"), "login page lang={lang:?}");
        let label = driver.find(By::Css("label")).await?.text().await?;
        ensure!(label.starts_with("Username"), "first label {label:?}");

        fill(&driver, "username", "agent_a1").await?;
        fill(&driver, "password", PASSWORD).await?;
        by_id(&driver, "login-submit").await?.click().await?;
        // An agent lands in the workspace (issue 25), in English.
        wait_for_url(&driver, "/workspace", |u| u.path() == "/workspace").await?;
        by_id_with_text(&driver, "nav-workspace", "Workspace").await?;
        driver.goto(app.url("/leads")).await?;
        driver
            .query(By::Tag("h1"))
            .with_text("Leads")
            .first()
            .await?;
        by_id_with_text(&driver, "nav-new-lead", "New lead").await?;
        by_id_with_text(&driver, "apply-filters", "Filter").await?;
        let nav = driver.find(By::Css("header nav")).await?.text().await?;
        ensure!(
            nav.contains("Leads") && !nav.contains("线索"),
            "English nav: {nav:?}"
        );

        by_id_with_text(&driver, "lang-switch", "中文")
            .await?
            .click()
            .await?;
        driver
            .query(By::Tag("h1"))
            .with_text("线索列表")
            .first()
            .await?;
        let url = wait_for_url(&driver, "/leads", |u| u.path() == "/leads").await?;
        ensure!(url.path() == "/leads", "switching went to {url}");
        driver
            .query(By::Css("header nav a[href='/leads']"))
            .with_text("线索")
            .first()
            .await?;
        by_id_with_text(&driver, "nav-new-lead", "新建线索").await?;
        by_id_with_text(&driver, "lang-switch", "English").await?;
        let lang = driver.find(By::Tag("html")).await?.attr("lang").await?;
        ensure!(lang.as_deref() == Some("zh-CN"), "lead list lang={lang:?}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_phone_in_the_form_names_the_owner_and_keeps_the_input() {
    let app = TestApp::spawn().await;
    create_industry_field(&app).await;
    let held = app
        .api("agent_b1")
        .await
        .create_lead(json!({"name": "刘总", "phone": "138 0013 8000"}))
        .await;
    let held_id = held["id"].as_i64().expect("a lead id");
    let app = &app;
    in_browser("duplicate phone", |driver| async move {
        log_in(&driver, app, "agent_a1").await?;
        by_id(&driver, "nav-new-lead").await?.click().await?;
        by_id(&driver, "lead-form").await?;
        fill(&driver, "name", "刘先生").await?;
        fill(&driver, "phones", "+86 138-0013-8000").await?;
        fill(&driver, "company", "星河科技").await?;
        choose(&driver, "cf-industry", "教育").await?;
        by_id(&driver, "save-lead").await?.click().await?;

        let error = by_id(&driver, "form-error").await?.text().await?;
        ensure!(
            error.contains("赵磊"),
            "the error {error:?} does not name the owner"
        );
        // agent_a1 may not see agent_b1's lead: not named (issue 21).
        for part in [format!("#{held_id}"), "刘总".into()] {
            ensure!(
                !error.contains(&part),
                "the error {error:?} mentions {part}"
            );
        }
        for (id, typed) in [
            ("name", "刘先生"),
            ("phones", "+86 138-0013-8000"),
            ("company", "星河科技"),
            ("cf-industry", "教育"),
        ] {
            let kept = field_value(&driver, id).await?;
            ensure!(kept == typed, "#{id} holds {kept:?} instead of {typed:?}");
        }
        Ok(())
    })
    .await;
    // Nothing was stored for agent_a1.
    let (_, mine) = app
        .api("agent_a1")
        .await
        .get_json("/api/v1/leads?owner=me")
        .await;
    assert_eq!(mine["items"], json!([]), "agent_a1's leads: {mine}");
}

/// Opens the navigation's 报表与考核 menu, so that its links can be clicked.
pub(crate) async fn open_reports_menu(driver: &WebDriver) -> Result<()> {
    by_id(driver, "menu-reports")
        .await?
        .find(By::Css("summary"))
        .await?
        .click()
        .await?;
    Ok(())
}
