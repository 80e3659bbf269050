//! The navigation by role in the browser (issue 25): where each role lands, what its menu
//! holds, the calling settings reachable from 设置, API tokens under the account menu, and no
//! calling target for a sales rep.

use anyhow::{Context, ensure};
use thirtyfour::prelude::*;

use crate::browser::{by_id, in_browser, log_in_to_landing, wait_for_url};
use crate::helpers::TestApp;

/// Whether an element with this id is on the page and shown.
async fn shown(driver: &WebDriver, id: &str) -> anyhow::Result<bool> {
    let found = driver.find_all(By::Id(id)).await?;
    match found.first() {
        Some(e) => Ok(e.is_displayed().await?),
        None => Ok(false),
    }
}

async fn present(driver: &WebDriver, id: &str) -> anyhow::Result<bool> {
    Ok(!driver.find_all(By::Id(id)).await?.is_empty())
}

#[tokio::test]
async fn each_role_lands_on_its_own_page_with_its_own_menu() {
    let app = TestApp::spawn().await;
    in_browser("floor-nav", |driver| async move {
        // An agent lands in the workspace; no live view, no settings; tokens in the account menu.
        let url = log_in_to_landing(&driver, &app, "agent_a1").await?;
        ensure!(url.path() == "/workspace", "agent landed on {url}");
        by_id(&driver, "next-call").await?;
        ensure!(
            !present(&driver, "nav-live").await?,
            "agent sees the live view link"
        );
        ensure!(
            !present(&driver, "menu-settings").await?,
            "agent sees settings"
        );
        ensure!(shown(&driver, "nav-workspace").await?);
        ensure!(
            !shown(&driver, "nav-tokens").await?,
            "tokens in the agent's main menu"
        );
        driver
            .find(By::Css("#menu-account > summary"))
            .await?
            .click()
            .await?;
        ensure!(
            shown(&driver, "nav-tokens").await?,
            "tokens under the account menu"
        );
        by_id(&driver, "nav-tokens").await?.click().await?;
        wait_for_url(&driver, "/tokens", |u| u.path() == "/tokens").await?;

        // A supervisor lands on the live view; 设置 holds the calling settings.
        driver.delete_all_cookies().await?;
        let url = log_in_to_landing(&driver, &app, "sup_a").await?;
        ensure!(
            url.path() == "/supervisor/live",
            "supervisor landed on {url}"
        );
        ensure!(!shown(&driver, "nav-workday").await?);
        driver
            .find(By::Css("#menu-settings > summary"))
            .await?
            .click()
            .await?;
        by_id(&driver, "nav-workday").await?.click().await?;
        wait_for_url(&driver, "/admin/workday", |u| u.path() == "/admin/workday").await?;
        ensure!(
            !present(&driver, "nav-fields").await?,
            "custom fields are the admin's"
        );

        // An admin: the live view too, and every setting under the one menu.
        driver.delete_all_cookies().await?;
        let url = log_in_to_landing(&driver, &app, "admin").await?;
        ensure!(url.path() == "/supervisor/live", "admin landed on {url}");
        for id in [
            "nav-workday",
            "nav-fields",
            "nav-users",
            "nav-teams",
            "nav-ticker",
            "nav-ownership",
        ] {
            ensure!(
                present(&driver, id).await?,
                "{id} missing from the admin's settings"
            );
            ensure!(
                !shown(&driver, id).await?,
                "{id} shown outside the closed menu"
            );
        }
        let main_links = driver.find_all(By::Css("#nav-main > a")).await?.len();
        ensure!(main_links <= 9, "{main_links} top links for an admin");

        // A sales rep lands on their customers; no calling target anywhere.
        driver.delete_all_cookies().await?;
        let url = log_in_to_landing(&driver, &app, "sales1").await?;
        ensure!(
            url.path() == "/customers" && url.query() == Some("mine=1"),
            "sales landed on {url}"
        );
        ensure!(
            !present(&driver, "nav-workspace").await?,
            "sales sees the workspace link"
        );
        driver.goto(app.url("/workspace")).await?;
        by_id(&driver, "next-call").await?;
        ensure!(
            !present(&driver, "ws-target").await?,
            "a sales rep is shown a calling target"
        );
        let counters = driver
            .find(By::Css(".counters"))
            .await
            .context("the counters")?
            .text()
            .await?;
        ensure!(!counters.contains("60"), "counters read {counters:?}");
        Ok(())
    })
    .await;
}
