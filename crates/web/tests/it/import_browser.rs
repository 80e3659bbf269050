//! Browser test of the import pages: headless Chromium (through chromedriver and thirtyfour)
//! uploads a CSV with one bad row, maps one column differently, starts the import, sees the
//! counts arrive and downloads the error report. Needs the Debian packages `chromium` and
//! `chromium-driver`; `CHROMEDRIVER` and `CHROME_BIN` override their paths.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use thirtyfour::components::SelectElement;
use thirtyfour::extensions::query::ElementPollerWithTimeout;
use thirtyfour::prelude::*;

use crate::api_imports::{bom_csv, list_with_one_bad_row};
use crate::helpers::{PASSWORD, TestApp};

const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// chromedriver on a free port and a scratch directory (profile, the file to upload); both
/// cleaned up on drop.
struct Driver {
    child: Child,
    url: String,
    dir: PathBuf,
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
        let dir = std::env::temp_dir().join(format!(
            "leadline-import-browser-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
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
        caps.add_arg(&format!(
            "--user-data-dir={}",
            self.dir.join("profile").display()
        ))?;
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
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn by_id(driver: &WebDriver, id: &str) -> Result<WebElement> {
    Ok(driver.query(By::Id(id)).desc(id).first().await?)
}

/// Waits until the element's text is `text`.
async fn wait_text(driver: &WebDriver, id: &str, text: &str) -> Result<()> {
    driver
        .query(By::Id(id))
        .with_text(text.to_string())
        .desc(&format!("#{id} saying {text:?}"))
        .first()
        .await?;
    Ok(())
}

async fn supervisor_imports(
    driver: &WebDriver,
    app: &TestApp,
    file: &std::path::Path,
) -> Result<()> {
    driver.goto(app.url("/login")).await?;
    by_id(driver, "username").await?.send_keys("sup_a").await?;
    by_id(driver, "password").await?.send_keys(PASSWORD).await?;
    by_id(driver, "login-submit").await?.click().await?;
    by_id(driver, "filters").await?;

    by_id(driver, "nav-import").await?.click().await?;
    by_id(driver, "import-file")
        .await?
        .send_keys(file.to_string_lossy())
        .await?;
    by_id(driver, "upload-submit").await?.click().await?;

    // The preview: first rows, and the mapping guessed from the headers.
    let table = by_id(driver, "preview-rows").await?;
    let text = table.text().await?;
    ensure!(
        text.contains("华为技术"),
        "the first rows are shown: {text}"
    );
    let city = SelectElement::new(&by_id(driver, "col-3").await?).await?;
    let guessed = by_id(driver, "col-3").await?.prop("value").await?;
    ensure!(
        guessed.as_deref() == Some("city"),
        "城市 guessed as city: {guessed:?}"
    );
    city.select_by_value("region").await?;
    by_id(driver, "dup-skip").await?;
    by_id(driver, "into-pool").await?.click().await?;
    by_id(driver, "start-import").await?.click().await?;

    // The job page follows the import to its end.
    wait_text(driver, "job-status", "已完成").await?;
    wait_text(driver, "count-imported", "3").await?;
    wait_text(driver, "count-failed", "1").await?;
    let link = by_id(driver, "error-report").await?;
    ensure!(link.is_displayed().await?, "the error report link is shown");
    let href = link.attr("href").await?.unwrap_or_default();
    ensure!(href.ends_with("/errors"), "error report link: {href}");

    // Download it with the browser's own session.
    let ret = driver
        .execute(
            "return fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text())",
            vec![serde_json::Value::String(href)],
        )
        .await?;
    let report = ret.json().as_str().unwrap_or_default().to_string();
    ensure!(
        report.starts_with("姓名,手机,公司,城市") && report.contains("无名公司"),
        "the error report holds the refused row: {report}"
    );
    ensure!(report.lines().count() == 2, "one refused row: {report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_imports_a_csv_maps_a_column_and_downloads_the_error_report() {
    let app = TestApp::spawn().await;
    let driver = Driver::start().await.expect("chromedriver");
    let file = driver.dir.join("客户名单.csv");
    std::fs::write(&file, bom_csv(&list_with_one_bad_row())).unwrap();
    let browser = driver.browser().await.expect("headless Chromium");
    let outcome = supervisor_imports(&browser, &app, &file).await;
    let page = if outcome.is_err() {
        browser
            .find(By::Tag("body"))
            .await
            .ok()
            .map(|b| async move { b.text().await.unwrap_or_default() })
    } else {
        None
    };
    let page = match page {
        Some(f) => f.await,
        None => String::new(),
    };
    browser.quit().await.expect("quitting the browser");
    if let Err(e) = outcome {
        panic!("{e:#}\npage:\n{page}");
    }

    // The column mapped by hand went where it was told.
    let sup = app.api("sup_a").await;
    let (_, page) = sup.get_json("/api/v1/leads?q=%E6%9D%8E%E5%9B%9B").await;
    assert_eq!(page["items"][0]["region"], "深圳", "{page}");
    assert_eq!(page["items"][0]["city"], serde_json::Value::Null);
}
