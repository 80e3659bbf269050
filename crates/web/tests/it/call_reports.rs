//! Call statistics over real HTTP (issue 24), on either backend: the report per agent, team,
//! week and month in the organisation's zone, who may see whose calls (and the refusals),
//! the 400s for bad ranges, the zone setting, and the .xlsx and CSV files holding the same
//! numbers as the JSON (formula-like names neutralised). A browser test shows the page's rows.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, TimeZone, Utc};
use leadline_domain::{Role, UserId};
use leadline_store::auth::users;
use leadline_store::workday::calls::{NewCall, insert_many};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{by_id, in_browser, log_in, wait_for_url};
use crate::helpers::{Api, PASSWORD, TestApp, mobile, send};

fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn call(lead: i64, agent: UserId, at: DateTime<Utc>, disposition: &str, s: i64) -> NewCall {
    NewCall {
        lead_id: leadline_domain::LeadId(lead),
        agent_id: agent,
        started_at: at,
        duration_s: s,
        disposition: disposition.into(),
        intent: (disposition == "qualified").then(|| "interested".into()),
        notes: String::new(),
        next_revisit_at: None,
        script_id: None,
    }
}

/// agent_a1 (张伟, team A): three calls on Monday 30 November, two connected, one qualified;
/// agent_b1 (赵磊, team B): one connected call at 23:30 on 31 December (Shanghai).
async fn seed(app: &TestApp) {
    let a1 = app.api("agent_a1").await;
    let b1 = app.api("agent_b1").await;
    let lead_a = a1
        .create_lead(json!({"name": "客户甲", "phone": mobile(11)}))
        .await["id"]
        .as_i64()
        .unwrap();
    let lead_b = b1
        .create_lead(json!({"name": "客户乙", "phone": mobile(12)}))
        .await["id"]
        .as_i64()
        .unwrap();
    let o = &app.org;
    insert_many(
        &app.db,
        &[
            call(
                lead_a,
                o.agent_a1,
                shanghai(2026, 11, 30, 9, 5),
                "connected",
                60,
            ),
            call(
                lead_a,
                o.agent_a1,
                shanghai(2026, 11, 30, 9, 20),
                "no_answer",
                25,
            ),
            call(
                lead_a,
                o.agent_a1,
                shanghai(2026, 11, 30, 14, 0),
                "qualified",
                300,
            ),
            call(
                lead_b,
                o.agent_b1,
                shanghai(2026, 12, 31, 23, 30),
                "connected",
                100,
            ),
        ],
    )
    .await
    .unwrap();
}

const RANGE: &str = "from=2026-11-01&to=2026-12-31";

async fn report(api: &Api, query: &str) -> (StatusCode, Value) {
    api.get_json(&format!("/api/v1/reports/calls?{query}"))
        .await
}

fn rows(v: &Value) -> &Vec<Value> {
    v["rows"].as_array().expect("rows")
}

#[tokio::test]
async fn the_report_groups_by_agent_team_week_and_month_in_the_organisations_zone() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let admin = app.api("admin").await;
    let (status, body) = report(&admin, &format!("{RANGE}&group_by=agent")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["zone"], "Asia/Shanghai");
    let r = rows(&body);
    assert_eq!(r.len(), 2);
    let zhang = r.iter().find(|r| r["agent_name"] == "张伟").unwrap();
    assert_eq!(zhang["agent_id"], app.org.agent_a1.0);
    assert_eq!(zhang["calls"], 3);
    assert_eq!(zhang["connected"], 2);
    assert_eq!(zhang["valid_conversations"], 2);
    assert_eq!(zhang["qualified"], 1);
    assert_eq!(zhang["talk_s"], 360);
    assert_eq!(zhang["connect_rate_permille"], 666);
    assert_eq!(zhang["intent"]["interested"], 1);
    assert_eq!(body["totals"]["calls"], 4);
    assert_eq!(body["totals"]["talk_s"], 460);

    let (_, body) = report(&admin, &format!("{RANGE}&group_by=team")).await;
    let names: Vec<&str> = rows(&body)
        .iter()
        .map(|r| r["team_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["电销一组", "电销二组"]);
    assert_eq!(rows(&body)[0]["team_id"], app.org.team_a.0);
    assert_eq!(rows(&body)[0]["calls"], 3);

    let (_, body) = report(&admin, &format!("{RANGE}&group_by=month")).await;
    let months: Vec<(&str, i64)> = rows(&body)
        .iter()
        .map(|r| (r["month"].as_str().unwrap(), r["calls"].as_i64().unwrap()))
        .collect();
    assert_eq!(months, [("2026-11-01", 3), ("2026-12-01", 1)]);
    let (_, body) = report(&admin, &format!("{RANGE}&group_by=week")).await;
    let weeks: Vec<&str> = rows(&body)
        .iter()
        .map(|r| r["week"].as_str().unwrap())
        .collect();
    assert_eq!(weeks, ["2026-11-30", "2026-12-28"], "weeks start on Monday");
    let (_, body) = report(
        &admin,
        &format!("{RANGE}&group_by=day&team_id={}", app.org.team_a.0),
    )
    .await;
    assert_eq!(rows(&body).len(), 1);
    assert_eq!(rows(&body)[0]["day"], "2026-11-30");

    // The organisation moves to Tokyo: 23:30 in Shanghai is already 1 January there.
    let agent = app.api("agent_a1").await;
    let zone = json!({"org_time_zone": "Asia/Tokyo"});
    let (status, _) = send(
        &agent,
        reqwest::Method::PUT,
        "/api/v1/settings/org-time-zone",
        zone.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents do not set the zone");
    let bad = json!({"org_time_zone": "Asia/Atlantis"});
    let (status, _) = send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/settings/org-time-zone",
        bad,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/settings/org-time-zone",
        zone,
    )
    .await;
    assert_eq!(
        (status, &body["org_time_zone"]),
        (StatusCode::OK, &json!("Asia/Tokyo"))
    );
    let (_, body) = report(&admin, "from=2026-11-01&to=2027-01-31&group_by=month").await;
    assert_eq!(body["zone"], "Asia/Tokyo");
    let months: Vec<&str> = rows(&body)
        .iter()
        .map(|r| r["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2026-11-01", "2027-01-01"]);
    let (_, body) = agent.get_json("/api/v1/settings/org-time-zone").await;
    assert_eq!(body["org_time_zone"], "Asia/Tokyo");
}

#[tokio::test]
async fn each_person_sees_only_the_calls_they_may_and_is_refused_the_rest() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let o = &app.org;
    let sup_a = app.api("sup_a").await;
    let (status, body) = report(&sup_a, RANGE).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = rows(&body)
        .iter()
        .map(|r| r["agent_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["张伟"], "the supervisor sees their team only");
    let (status, _) = report(&sup_a, &format!("{RANGE}&team_id={}", o.team_b.0)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another team");
    let (status, _) = report(&sup_a, &format!("{RANGE}&agent_id={}", o.agent_b1.0)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another team's agent");

    let a2 = app.api("agent_a2").await;
    let (status, body) = report(&a2, RANGE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        rows(&body).is_empty(),
        "a2 made no calls and sees no colleague's"
    );
    let (status, _) = report(&a2, &format!("{RANGE}&agent_id={}", o.agent_a1.0)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = report(&a2, &format!("{RANGE}&team_id={}", o.team_a.0)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let a1 = app.api("agent_a1").await;
    let (_, body) = report(&a1, &format!("{RANGE}&agent_id={}", o.agent_a1.0)).await;
    assert_eq!(body["totals"]["calls"], 3, "an agent sees themself");

    let finance = users::NewUser {
        username: "cashier".into(),
        display_name: "出纳".into(),
        role: Role::Finance,
        team_id: None,
        password_hash: users::hash_password(PASSWORD),
    };
    users::create_user(&app.db, &finance, None).await.unwrap();
    let (status, _) = report(&app.api("cashier").await, RANGE).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "finance does not read the floor"
    );
    let (status, _) = app
        .anonymous()
        .get_json(&format!("/api/v1/reports/calls?{RANGE}"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for (query, code) in [
        ("from=2026-11-31&to=2026-12-01", "from_invalid"),
        ("from=2026-11-01", "to_invalid"),
        ("from=2026-12-02&to=2026-12-01", "range_reversed"),
        ("from=2026-01-01&to=2027-01-02", "range_too_long"),
        (
            "from=2026-11-01&to=2026-11-30&group_by=year",
            "group_by_invalid",
        ),
        ("from=2026-11-01&to=2026-11-30&team_id=x", "team_id_invalid"),
        ("from=2026-11-01&to=2026-11-30&format=pdf", "format_invalid"),
    ] {
        let (status, body) = report(&a1, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["code"], code, "{query}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn the_files_hold_the_same_numbers_as_the_json_with_formulas_neutralised() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    // An agent whose name a spreadsheet would run as a formula.
    let evil = users::NewUser {
        username: "evil".into(),
        display_name: "=HYPERLINK(\"http://x\")".into(),
        role: Role::Agent,
        team_id: Some(app.org.team_a),
        password_hash: users::hash_password(PASSWORD),
    };
    let evil = users::create_user(&app.db, &evil, None).await.unwrap().id;
    let lead = app
        .api("evil")
        .await
        .create_lead(json!({"name": "客户丙", "phone": mobile(13)}))
        .await["id"]
        .as_i64()
        .unwrap();
    insert_many(
        &app.db,
        &[call(lead, evil, shanghai(2026, 12, 1, 10, 0), "busy", 5)],
    )
    .await
    .unwrap();
    let admin = app.api("admin").await;
    let (_, json) = report(&admin, RANGE).await;
    let expected: Vec<(String, i64, i64, i64)> = rows(&json)
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap();
            (
                r["agent_name"].as_str().unwrap().to_string(),
                n("calls"),
                n("connected"),
                n("talk_s"),
            )
        })
        .collect();
    assert_eq!(expected.len(), 3);

    let res = admin
        .get(&format!("/api/v1/reports/calls?{RANGE}&format=xlsx"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let cell = |d: &Data| match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    };
    let xlsx: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(cell).collect()).collect();

    let res = admin
        .get(&format!("/api/v1/reports/calls?{RANGE}&format=csv"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let csv: Vec<Vec<String>> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .filter(|l| !l.is_empty())
        .map(split_csv)
        .collect();

    for (what, table) in [("xlsx", &xlsx), ("csv", &csv)] {
        assert_eq!(table[0][0], "坐席", "{what} header");
        assert_eq!(table[0][1], "呼叫数", "{what} header");
        assert_eq!(
            table.len(),
            1 + 3 + 1,
            "{what}: header, three agents, total"
        );
        for (i, (name, calls, connected, talk_s)) in expected.iter().enumerate() {
            let row = &table[i + 1];
            let shown = if name.starts_with('=') {
                format!("'{name}")
            } else {
                name.clone()
            };
            assert_eq!(row[0], shown, "{what}: the name, a formula neutralised");
            assert_eq!(row[1], calls.to_string(), "{what} {name}");
            assert_eq!(row[2], connected.to_string(), "{what} {name}");
            assert_eq!(row[6], talk_s.to_string(), "{what} {name}");
        }
        let total = table.last().unwrap();
        assert_eq!(total[0], "合计");
        assert_eq!(
            total[1],
            json["totals"]["calls"].as_i64().unwrap().to_string()
        );
        assert_eq!(total[7], "0:07:40", "{what}: talk time formatted");
    }
}

/// Splits one CSV line (quoted cells with doubled quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().unwrap().push(c),
        }
    }
    out
}

#[tokio::test]
async fn the_supervisor_reads_the_call_statistics_page_with_a_totals_line() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let app = &app;
    in_browser("call statistics page", |driver| async move {
        log_in(&driver, app, "sup_a").await?;
        crate::browser::open_reports_menu(&driver).await?;
        by_id(&driver, "nav-call-stats").await?.click().await?;
        wait_for_url(&driver, "the report", |u| u.path() == "/reports/calls").await?;
        driver
            .goto(app.url("/reports/calls?from=2026-11-01&to=2026-12-31&group_by=agent"))
            .await?;
        let rows = driver
            .find_all(thirtyfour::By::Css("#call-stats-table tr.call-stats-row"))
            .await?;
        anyhow::ensure!(rows.len() == 1, "one agent of team A, got {}", rows.len());
        let text = rows[0].text().await?;
        anyhow::ensure!(
            text.contains("张伟") && text.contains("66.6%"),
            "row {text:?}"
        );
        let total = by_id(&driver, "call-stats-total").await?.text().await?;
        anyhow::ensure!(
            total.contains("合计") && total.contains("0:06:00"),
            "total {total:?}"
        );
        let xlsx = by_id(&driver, "call-stats-xlsx")
            .await?
            .attr("href")
            .await?;
        anyhow::ensure!(
            xlsx.is_some_and(|h| h.contains("format=xlsx") && h.contains("from=2026-11-01")),
            "the export link keeps the range"
        );
        Ok(())
    })
    .await;
}
