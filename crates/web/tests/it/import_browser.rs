//! Browser test of the import pages: headless Chromium (the shared harness in `browser.rs`)
//! uploads a CSV with one bad row, maps one column differently, starts the import, sees the
//! counts arrive and downloads the error report.

use anyhow::{Result, ensure};
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

use crate::api_imports::{bom_csv, list_with_one_bad_row};
use crate::browser::{by_id, by_id_with_text, in_browser, log_in};
use crate::helpers::TestApp;

async fn supervisor_imports(
    driver: &WebDriver,
    app: &TestApp,
    file: &std::path::Path,
) -> Result<()> {
    log_in(driver, app, "sup_a").await?;

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
    by_id_with_text(driver, "job-status", "已完成").await?;
    by_id_with_text(driver, "count-imported", "3").await?;
    by_id_with_text(driver, "count-failed", "1").await?;
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
    let dir = std::env::temp_dir().join(format!("leadline-import-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("客户名单.csv");
    std::fs::write(&file, bom_csv(&list_with_one_bad_row())).unwrap();
    let (app_ref, file_ref) = (&app, &file);
    in_browser("import", |driver| async move {
        supervisor_imports(&driver, app_ref, file_ref).await
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);

    // The column mapped by hand went where it was told.
    let sup = app.api("sup_a").await;
    let (_, page) = sup.get_json("/api/v1/leads?q=%E6%9D%8E%E5%9B%9B").await;
    assert_eq!(page["items"][0]["region"], "深圳", "{page}");
    assert_eq!(page["items"][0]["city"], serde_json::Value::Null);
}
