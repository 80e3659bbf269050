//! Look and fit (issue 25) in headless Chromium at a phone's 390 px and a laptop's 1366 px: the
//! workspace never scrolls sideways, menu words and names never break mid-word, pinned buttons
//! are readable, and next call outside the calling hours says when calling opens.

use anyhow::{Context, ensure};
use chrono::{Datelike, Duration};
use reqwest::StatusCode;
use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::browser::{by_id, in_browser, log_in};
use crate::helpers::{TestApp, mobile};
use crate::workspace::open_all_hours;

/// Elements matching `css` whose text runs over more than one line (an inline element has one
/// client rect per line box), as "text (lines)".
async fn broken(driver: &WebDriver, css: &str) -> anyhow::Result<Vec<String>> {
    let ret = driver
        .execute(
            r#"const out = [];
            for (const el of document.querySelectorAll(arguments[0])) {
              if (!el.offsetParent) continue;
              const r = document.createRange();
              r.selectNodeContents(el);
              const lines = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top)));
              if (lines.size > 1) out.push(el.textContent.trim() + " (" + lines.size + ")");
            }
            return out;"#,
            vec![json!(css)],
        )
        .await?;
    Ok(serde_json::from_value(ret.json().clone())?)
}

/// (scrollWidth, innerWidth) of the page.
async fn widths(driver: &WebDriver) -> anyhow::Result<(i64, i64)> {
    let ret = driver
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            Vec::new(),
        )
        .await?;
    let v = ret.json();
    Ok((v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0)))
}

async fn set_width(driver: &WebDriver, width: u32) -> anyhow::Result<()> {
    driver.set_window_rect(0, 0, width, 900).await?;
    Ok(())
}

#[tokio::test]
async fn the_workspace_lead_list_and_live_view_fit_a_phone_and_a_laptop() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "欧阳明月", "company": "北京星河教育科技发展有限公司",
            "title": "华北区域市场部高级经理", "city": "北京", "phones": [mobile(2561), mobile(2562)]}))
        .await;
    for n in 0..3u32 {
        agent
            .create_lead(json!({"name": format!("司马长风{n}"), "company": "上海东方明珠国际贸易集团有限公司",
                "phones": [mobile(2570 + n)]}))
            .await;
    }
    let id = lead["id"].as_i64().unwrap();
    let res = agent
        .post(
            &format!("/api/v1/leads/{id}/calls"),
            json!({"disposition": "connected", "duration_s": 300,
                "notes": "客户对年度方案很感兴趣，希望下周二上午十点再详细沟通价格和实施周期，需要准备案例资料和报价单，抄送https://example.com/a-very-long-address-without-any-break"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    in_browser("floor-fit", |driver| async move {
        for width in [390u32, 1366] {
            set_width(&driver, width).await?;
            log_in(&driver, &app, "agent_a1").await?;
            let (_, inner) = widths(&driver).await?;
            ensure!(
                (i64::from(width) - 40..=i64::from(width)).contains(&inner),
                "window {width} px has an inner width of {inner}"
            );
            for page in [format!("/workspace?lead={id}"), "/leads".to_string()] {
                driver.goto(app.url(&page)).await?;
                by_id(&driver, "nav-main").await?;
                let (scroll, inner) = widths(&driver).await?;
                ensure!(
                    scroll <= inner,
                    "{page} at {width} px scrolls sideways: {scroll} > {inner}"
                );
                let words = broken(&driver, "#nav-main > a, header summary, #lang-switch").await?;
                ensure!(
                    words.is_empty(),
                    "{page} at {width} px breaks menu words: {words:?}"
                );
                let names =
                    broken(&driver, "#ws-lead-name a, td.name, .lead-link, a.phone").await?;
                ensure!(
                    names.is_empty(),
                    "{page} at {width} px breaks names: {names:?}"
                );
            }
            driver.delete_all_cookies().await?;
            log_in(&driver, &app, "sup_a").await?;
            driver.goto(app.url("/supervisor/live")).await?;
            by_id(&driver, "live-agents").await?;
            let (scroll, inner) = widths(&driver).await?;
            ensure!(
                scroll <= inner,
                "live view at {width} px: {scroll} > {inner}"
            );
            let names = broken(&driver, "td.name, header summary, #nav-main > a").await?;
            ensure!(
                names.is_empty(),
                "live view at {width} px breaks: {names:?}"
            );
            driver.delete_all_cookies().await?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_pinned_button_reads_white_on_green() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let res = sup
        .post(
            "/api/v1/scripts",
            json!({"title": "开场白", "body": "您好", "category": "开场", "shared": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let script: Value = res.json().await.unwrap();
    let id = script["id"].as_i64().unwrap();
    let res = sup
        .post(
            &format!("/api/v1/scripts/{id}/pin"),
            json!({"team_id": app.org.team_a.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    in_browser("floor-pins", |driver| async move {
        log_in(&driver, &app, "sup_a").await?;
        driver.goto(app.url(&format!("/scripts/{id}"))).await?;
        let button = driver
            .find(By::Css("#script-pins button.pinned"))
            .await
            .context("the pinned team's button")?;
        let color = button.css_value("color").await?;
        let background = button.css_value("background-color").await?;
        ensure!(
            color != background,
            "pinned button: {color} on {background}"
        );
        ensure!(color.contains("255, 255, 255"), "pinned text is {color}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn next_call_outside_the_calling_hours_says_when_calling_opens() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    agent
        .create_lead(json!({"name": "周末客户", "phones": [mobile(2581)]}))
        .await;
    // Calling only on the weekday after tomorrow (Beijing time), 09:00-18:00: closed now.
    let shanghai = chrono_tz::Asia::Shanghai;
    let opens = (leadline_store::now().with_timezone(&shanghai) + Duration::days(2)).date_naive();
    let weekday = i64::from(opens.weekday().number_from_monday());
    let admin = app.api("admin").await;
    let req = admin
        .http
        .put(app.url("/api/v1/calling-hours"))
        .bearer_auth(admin.token.clone().unwrap())
        .json(&json!({"team_id": null, "windows": [{"weekday": weekday, "start": "09:00", "end": "18:00"}]}));
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, now) = agent.get_json("/api/v1/agent/calling-now").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(now["open"], false);
    assert!(now["opens_at"].is_string(), "{now}");
    in_browser("floor-closed", |driver| async move {
        log_in(&driver, &app, "agent_a1").await?;
        driver.goto(app.url("/workspace")).await?;
        by_id(&driver, "next-call").await?.click().await?;
        let said = driver
            .query(By::Id("ws-status"))
            .with_text(thirtyfour::stringmatch::StringMatch::new("不在外呼时段").partial())
            .first()
            .await
            .context("the workspace says calling is closed")?
            .text()
            .await?;
        let when = format!("{} 09:00", opens.format("%Y-%m-%d"));
        ensure!(said.contains(&when), "said {said:?}, expected {when}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn calling_now_is_open_within_the_hours() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let (_, now) = app
        .api("agent_a1")
        .await
        .get_json("/api/v1/agent/calling-now")
        .await;
    assert_eq!(now, json!({"open": true, "opens_at": null, "says": null}));
}

/// `serve --demo` opens the default calling hours all day, every day.
#[tokio::test]
async fn the_demo_opens_calling_hours_all_day() {
    let app = TestApp::spawn().await;
    leadline_store::demo::workday::open_calling_hours(&app.db)
        .await
        .unwrap();
    let windows = leadline_store::workday::config::windows(&app.db, None)
        .await
        .unwrap();
    assert_eq!(windows.len(), 7);
    assert!(
        windows
            .iter()
            .all(|w| w.start_minute == 0 && w.end_minute == 24 * 60)
    );
}

#[tokio::test]
async fn the_favicon_is_served_and_the_team_target_sits_under_the_target_column() {
    let app = TestApp::spawn().await;
    let res = app.anonymous().get("/favicon.ico").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().starts_with("<svg"));

    let (status, html) = app.browser("sup_a").await.get("/supervisor/live").await;
    assert_eq!(status, StatusCode::OK);
    let head = &html[html.find("<thead>").unwrap()..html.find("</thead>").unwrap()];
    let target_col = head.split("<th>").count() - 1;
    let row = &html[html.find("class=\"team-total\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    let cells: Vec<&str> = row.split("<th").skip(1).collect();
    assert_eq!(cells.len(), target_col, "{row}");
    assert!(
        cells[target_col - 1].contains("data-k=\"target\""),
        "the team target is in column {:?} of {target_col}: {row}",
        cells.iter().position(|c| c.contains("data-k=\"target\""))
    );
}
