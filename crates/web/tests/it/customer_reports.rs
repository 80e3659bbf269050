//! Customer reports over real HTTP (issue 24), on either backend: new customers per rep and the
//! yearly analysis by grade in the organisation's zone (New York here, so that a customer opened
//! late on 30 November there is November's, and December's once the zone is Shanghai), the
//! .xlsx and CSV files holding the JSON's figures to the 分, who may read whose rows (an agent
//! 403, a rep not another rep's), and the page reached through the reports menu.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, TimeZone, Utc};
use leadline_domain::{LeadId, Role, UserId};
use leadline_store::auth::users;
use leadline_store::db_run;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{by_id, in_browser, log_in, open_reports_menu, wait_for_url};
use crate::helpers::{Api, PASSWORD, TestApp, mobile};

fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::America::New_York
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

const DECEMBER: &str = "from=2026-12-01&to=2026-12-31";

/// Runs an `INSERT … RETURNING id` with two ids and an instant.
async fn insert(app: &TestApp, sql: &str, a: i64, b: i64, at: DateTime<Utc>) -> i64 {
    db_run!(&app.db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.to_string()
    ))
    .bind(a)
    .bind(b)
    .bind(at)
    .fetch_one(pool)
    .await
    .unwrap())
}

/// 黄磊 (sales1, no team) gets a customer handed over by 张伟 just after midnight on 1 December
/// in New York, graded A, ordering ¥1,234.56 and paying ¥500.00 in December; 周杰 (rep_b, team
/// B) has one entered at 23:30 on 30 November in New York. Returns rep_b's id.
async fn seed(app: &TestApp) -> UserId {
    let admin = app.api("admin").await;
    let res = admin
        .http
        .put(app.url("/api/v1/settings/org-time-zone"))
        .bearer_auth(admin.token.as_deref().unwrap())
        .json(&json!({"org_time_zone": "America/New_York"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rep_b = users::NewUser {
        username: "rep_b".into(),
        display_name: "周杰".into(),
        role: Role::Sales,
        team_id: Some(app.org.team_b),
        password_hash: users::hash_password(PASSWORD),
    };
    let rep_b = users::create_user(&app.db, &rep_b, None).await.unwrap().id;
    let lead = app
        .api("agent_a1")
        .await
        .create_lead(json!({"name": "客户甲", "phone": mobile(21)}))
        .await["id"]
        .as_i64()
        .unwrap();
    let agent = users::get_user(&app.db, app.org.agent_a1).await.unwrap();
    let agent = users::viewer(&app.db, &agent).await.unwrap();
    let c = leadline_store::customers::convert(
        &app.db,
        &agent,
        LeadId(lead),
        Some(app.org.sales),
        ny(2026, 12, 1, 0, 10),
    )
    .await
    .unwrap()
    .customer_id
    .0;
    db_run!(&app.db, |pool| sqlx::query(
        "UPDATE customers SET grade = 'A' WHERE id = $1"
    )
    .bind(c)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let order = insert(
        app,
        "INSERT INTO orders (customer_id, owner_id, status, total_fen, confirmed_at, created_at, updated_at) \
         VALUES ($1, $2, 'confirmed', 123456, $3, $3, $3) RETURNING id",
        c,
        app.org.sales.0,
        ny(2026, 12, 2, 10, 0),
    )
    .await;
    insert(
        app,
        "INSERT INTO payments (order_id, customer_id, amount_fen, paid_at, recorded_by, created_at) \
         VALUES ($1, $2, 50000, $3, 1, $3) RETURNING id",
        order,
        c,
        ny(2026, 12, 3, 10, 0),
    )
    .await;
    db_run!(&app.db, |pool| sqlx::query(
        "INSERT INTO customers (kind, name, owner_id, created_at, updated_at) \
         VALUES ('company', '客户乙', $1, $2, $2)"
    )
    .bind(rep_b.0)
    .bind(ny(2026, 11, 30, 23, 30))
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    rep_b
}

async fn get(api: &Api, path: &str) -> (StatusCode, Value) {
    api.get_json(path).await
}

fn table_of(bytes: Vec<u8>) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let cell = |d: &Data| match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => format!("{other:?}"),
    };
    range.rows().map(|r| r.iter().map(cell).collect()).collect()
}

async fn file(api: &Api, path: &str) -> Vec<u8> {
    let res = api.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn new_customers_and_the_yearly_analysis_as_json_and_files_in_the_organisations_zone() {
    let app = TestApp::spawn().await;
    let rep_b = seed(&app).await;
    let admin = app.api("admin").await;
    let (s, r) = get(&admin, &format!("/api/v1/reports/new-customers?{DECEMBER}")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["zone"], "America/New_York");
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{r}");
    let row = &rows[0];
    assert_eq!(row["rep_name"], "黄磊");
    assert_eq!(row["customers"], 1);
    assert_eq!(row["from_agent"], 1);
    assert_eq!(row["revenue_fen"], 123_456);
    assert_eq!(row["collected_fen"], 50_000);
    assert_eq!(r["customers"][0]["origin"], "from_agent");
    assert_eq!(r["customers"][0]["first_order_on"], "2026-12-02");

    let xlsx = table_of(
        file(
            &admin,
            &format!("/api/v1/reports/new-customers?{DECEMBER}&format=xlsx"),
        )
        .await,
    );
    assert_eq!(xlsx[0][0], "销售");
    assert_eq!(xlsx[0][1], "客户数");
    assert_eq!(xlsx.len(), 3, "header, one rep, total: {xlsx:?}");
    assert_eq!(
        xlsx[1],
        vec!["黄磊", "1", "1", "0", "0", "1", "1", "1234.56", "500.00"]
    );
    assert_eq!(xlsx[2][0], "合计");
    assert_eq!(xlsx[2][7], "1234.56");
    let res = admin
        .get(&format!(
            "/api/v1/reports/new-customers?{DECEMBER}&format=csv&group_by=team"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "header, 黄磊's (no team), total: {csv}");
    assert!(lines[0].starts_with("小组,客户数"), "{csv}");
    assert!(
        lines[1].starts_with("未分组,1,1,0,0,1,1,1234.56,500.00"),
        "{csv}"
    );

    // The organisation moves to Shanghai: 23:30 on 30 November in New York is 1 December there.
    let res = admin
        .http
        .put(app.url("/api/v1/settings/org-time-zone"))
        .bearer_auth(admin.token.as_deref().unwrap())
        .json(&json!({"org_time_zone": "Asia/Shanghai"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, r) = get(&admin, &format!("/api/v1/reports/new-customers?{DECEMBER}")).await;
    assert_eq!(r["totals"]["customers"], 2, "{r}");
    assert!(
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["rep_id"] == rep_b.0),
        "{r}"
    );

    let (s, y) = get(&admin, "/api/v1/reports/customers-yearly?year=2026").await;
    assert_eq!(s, StatusCode::OK, "{y}");
    assert_eq!(y["by_grade"][0]["grade"], "A");
    assert_eq!(y["by_grade"][0]["revenue_fen"], 123_456);
    assert_eq!(
        y["by_grade"][0]["revenue_by_quarter"],
        json!([0, 0, 0, 123_456])
    );
    assert_eq!(y["by_grade"][0]["collected_by_month"][11], 50_000);
    assert_eq!(y["totals"]["customers"], 2);
    let xlsx = table_of(
        file(
            &admin,
            "/api/v1/reports/customers-yearly?year=2026&format=xlsx",
        )
        .await,
    );
    assert_eq!(xlsx[0][..4], ["销售", "等级", "客户数", "成交客户数"]);
    assert_eq!(xlsx[0][9], "Q4");
    let a = xlsx.iter().find(|r| r[0] == "全部" && r[1] == "A").unwrap();
    assert_eq!(a[4], "1234.56");
    assert_eq!(a[5], "500.00");
    assert_eq!(a[9], "1234.56");
    let monthly = table_of(
        file(
            &admin,
            "/api/v1/reports/customers-yearly?year=2026&format=xlsx&columns=month",
        )
        .await,
    );
    assert_eq!(monthly[0].len(), 6 + 12);
    assert_eq!(monthly[0][17], "12月");
    assert!(
        monthly
            .iter()
            .any(|r| r[0] == "黄磊" && r[1] == "A" && r[17] == "1234.56"),
        "{monthly:?}"
    );
}

#[tokio::test]
async fn an_agent_is_refused_and_a_rep_reads_only_their_own_numbers() {
    let app = TestApp::spawn().await;
    let rep_b = seed(&app).await;
    let nov_dec = "from=2026-11-01&to=2026-12-31";
    let agent = app.api("agent_a1").await;
    for path in [
        format!("/api/v1/reports/new-customers?{nov_dec}"),
        "/api/v1/reports/customers-yearly?year=2026".to_string(),
    ] {
        let (s, e) = get(&agent, &path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {e}");
    }

    let rep = app.api("sales1").await;
    let (s, r) = get(&rep, &format!("/api/v1/reports/new-customers?{nov_dec}")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "only their own row: {r}");
    assert_eq!(rows[0]["rep_name"], "黄磊");
    let (s, e) = get(
        &rep,
        &format!("/api/v1/reports/new-customers?{nov_dec}&rep_id={}", rep_b.0),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (s, e) = get(
        &rep,
        &format!(
            "/api/v1/reports/customers-yearly?year=2026&rep_id={}",
            rep_b.0
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (_, y) = get(&rep, "/api/v1/reports/customers-yearly?year=2026").await;
    assert_eq!(y["totals"]["customers"], 1, "{y}");

    // Team B's supervisor reads 周杰, not 黄磊; finance reads both.
    let (_, r) = get(
        &app.api("sup_b").await,
        &format!("/api/v1/reports/new-customers?{nov_dec}"),
    )
    .await;
    let names: Vec<&str> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rep_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["周杰"]);
    let finance = users::NewUser {
        username: "cashier".into(),
        display_name: "出纳".into(),
        role: Role::Finance,
        team_id: None,
        password_hash: users::hash_password(PASSWORD),
    };
    users::create_user(&app.db, &finance, None).await.unwrap();
    let (s, r) = get(
        &app.api("cashier").await,
        &format!("/api/v1/reports/new-customers?{nov_dec}"),
    )
    .await;
    assert_eq!(
        (s, r["totals"]["customers"].as_i64()),
        (StatusCode::OK, Some(2))
    );

    // Bad input: a clear 400 or 422, nothing else.
    let admin = app.api("admin").await;
    for (path, status, code) in [
        (
            "/api/v1/reports/customers-yearly?year=abc",
            400,
            "year_invalid",
        ),
        ("/api/v1/reports/customers-yearly", 400, "year_invalid"),
        (
            "/api/v1/reports/customers-yearly?year=1999",
            422,
            "invalid_input",
        ),
        (
            "/api/v1/reports/customers-yearly?year=2026&columns=week",
            400,
            "columns_invalid",
        ),
        (
            "/api/v1/reports/new-customers?from=2026-12-01&to=2026-11-01",
            400,
            "range_reversed",
        ),
        (
            "/api/v1/reports/new-customers?from=2026-12-01&to=2026-12-31&group_by=day",
            400,
            "group_by_invalid",
        ),
        (
            "/api/v1/reports/new-customers?from=2026-12-01&to=2026-12-31&format=pdf",
            400,
            "format_invalid",
        ),
    ] {
        let (s, e) = get(&admin, path).await;
        assert_eq!(s.as_u16(), status, "{path}: {e}");
        assert_eq!(e["code"], code, "{path}: {e}");
    }
}

#[tokio::test]
async fn the_admin_opens_new_customers_from_the_reports_menu_and_sees_the_reps_row() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let app = &app;
    in_browser("new customers page", |driver| async move {
        log_in(&driver, app, "admin").await?;
        open_reports_menu(&driver).await?;
        by_id(&driver, "nav-new-customers").await?.click().await?;
        wait_for_url(&driver, "the report", |u| {
            u.path() == "/reports/new-customers"
        })
        .await?;
        driver
            .goto(app.url(&format!("/reports/new-customers?{DECEMBER}&group_by=rep")))
            .await?;
        let rows = driver
            .find_all(thirtyfour::By::Css(
                "#new-customers-table tr.new-customers-row",
            ))
            .await?;
        anyhow::ensure!(rows.len() == 1, "one rep, got {}", rows.len());
        let text = rows[0].text().await?;
        anyhow::ensure!(
            text.contains("黄磊") && text.contains("¥1,234.56"),
            "row {text:?}"
        );
        let list = by_id(&driver, "new-customers-list").await?.text().await?;
        anyhow::ensure!(
            list.contains("客户甲") && list.contains("坐席移交"),
            "{list:?}"
        );
        let xlsx = by_id(&driver, "new-customers-xlsx")
            .await?
            .attr("href")
            .await?;
        anyhow::ensure!(
            xlsx.is_some_and(|h| h.contains("format=xlsx") && h.contains("from=2026-12-01")),
            "the export link keeps the range"
        );
        driver
            .goto(app.url("/reports/customers-yearly?year=2026"))
            .await?;
        let grades = by_id(&driver, "yearly-grades").await?.text().await?;
        anyhow::ensure!(grades.contains("¥1,234.56"), "{grades:?}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_customer_reports_are_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/reports/new-customers",
        "/api/v1/reports/customers-yearly",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} documented");
    }
}
