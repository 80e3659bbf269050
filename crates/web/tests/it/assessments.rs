//! Assessment over real HTTP (issue 24), both backends: commission rules set by an admin only;
//! a person's month computed exactly from a payment split over the order's lines; who reads,
//! adjusts, locks and unlocks (an agent sees only their own; another team's supervisor is
//! refused); a locked month keeps its figures when a late payment arrives while the live figures
//! move, and refuses adjustments (409); the month's .xlsx parses back with the same numbers; the
//! pages show the table and the year.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, TimeZone, Utc};
use leadline_domain::UserId;
use leadline_store::{Db, db_run};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, post, send};

fn at(m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, 4, 0, 0).unwrap()
}

async fn insert(db: &Db, text: &'static str, a: i64, b: i64, c: i64, t: DateTime<Utc>) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar(text)
        .bind(a)
        .bind(b)
        .bind(c)
        .bind(t)
        .fetch_one(pool)
        .await
        .unwrap())
}

async fn product(db: &Db, n: i64) -> i64 {
    insert(
        db,
        "INSERT INTO products (name, price_fen, created_at, updated_at) \
         VALUES ('P' || CAST($1 AS TEXT), $2 + $3, $4, $4) RETURNING id",
        n,
        100,
        0,
        at(1, 1),
    )
    .await
}

/// A customer and a confirmed order of `owner`'s with two lines (`p1`: 30 000, `p2`: 10 000).
async fn order(db: &Db, owner: UserId, p1: i64, p2: i64) -> (i64, i64) {
    let c = insert(
        db,
        "INSERT INTO customers (kind, name, owner_id, owned_since, created_at, updated_at) \
         VALUES ('company', 'C' || CAST($1 AS TEXT) || CAST($2 AS TEXT) || CAST($3 AS TEXT), $1, $4, $4, $4) RETURNING id",
        owner.0,
        0,
        0,
        at(11, 2),
    )
    .await;
    let o = insert(
        db,
        "INSERT INTO orders (customer_id, owner_id, status, total_fen, confirmed_at, created_at, updated_at) \
         VALUES ($1, $2, 'confirmed', $3, $4, $4, $4) RETURNING id",
        c,
        owner.0,
        40_000,
        at(11, 2),
    )
    .await;
    for (p, total) in [(p1, 30_000i64), (p2, 10_000)] {
        db_run!(db, |pool| {
            sqlx::query(
            "INSERT INTO order_lines (order_id, product_id, quantity, list_price_fen, unit_price_fen, line_total_fen) \
             VALUES ($1, $2, 1, $3, $3, $3)"
        )
        .bind(o)
        .bind(p)
        .bind(total)
        .execute(pool)
        .await
        .unwrap()
        .rows_affected()
        });
    }
    (c, o)
}

async fn payment(db: &Db, order: i64, customer: i64, amount: i64, by: UserId, t: DateTime<Utc>) {
    db_run!(db, |pool| {
        sqlx::query(
        "INSERT INTO payments (order_id, customer_id, amount_fen, paid_at, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $4)"
    )
    .bind(order)
    .bind(customer)
    .bind(amount)
    .bind(t)
    .bind(by)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected()
    });
}

fn cell_f64(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[tokio::test]
async fn assessment_is_exact_refused_to_others_and_a_locked_month_ignores_late_payments() {
    let app = TestApp::spawn().await;
    let o = &app.org;
    let (admin, sup_a, sup_b) = (
        app.api("admin").await,
        app.api("sup_a").await,
        app.api("sup_b").await,
    );
    let (agent, colleague) = (app.api("agent_a1").await, app.api("agent_a2").await);
    let db = &app.db;
    let (p1, p2) = (product(db, 1).await, product(db, 2).await);

    // Commission rules: 3 % by default, 10 % on p1; only an admin sets them.
    let rules = json!({"default_rate_bp": 300, "products": [{"product_id": p1, "rate_bp": 1000}],
        "per_qualified_fen": 0, "per_new_customer_fen": 1000});
    let (s, b) = send(
        &sup_a,
        reqwest::Method::PUT,
        "/api/v1/assessments/rules",
        rules.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/assessments/rules",
        rules,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let bad = json!({"default_rate_bp": 10001});
    let (s, _) = send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/assessments/rules",
        bad,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // 10 001 paid in November over lines 30 000 : 10 000 → 7 501 (the extra 分 goes to the
    // larger remainder, 0.75 against 0.25) and 2 500: 750.1 → 750 and 75.
    let (c, ord) = order(db, o.agent_a1, p1, p2).await;
    payment(db, ord, c, 10_001, o.admin, at(11, 10)).await;
    let me = format!("/api/v1/assessments/{}/2026-11", o.agent_a1);
    let (s, b) = agent.get_json(&me).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["collected_fen"], 10_001);
    assert_eq!(b["bonus"]["commission_fen"], 825);
    assert_eq!(b["bonus"]["new_customer_bonus_fen"], 1000);
    assert_eq!(b["total_fen"], 1825);
    assert_eq!(b["locked"], Value::Null);

    // Others do not see it; an agent's table is themselves.
    for who in [&colleague, &sup_b] {
        let (s, _) = who.get_json(&me).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, b) = agent.get_json("/api/v1/assessments?month=2026-11").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b.as_array().unwrap().len(), 1, "{b}");
    let (s, _) = sup_b
        .get_json(&format!(
            "/api/v1/assessments?month=2026-11&team_id={}",
            o.team_a.0
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Adjust: the team's supervisor yes, the agent and another team's supervisor no.
    let adj = format!("{me}/adjust");
    let body = json!({"amount_fen": -25, "reason": "通话记录不全"});
    let (s, _) = post(&agent, &adj, body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post(&sup_b, &adj, body.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = post(&sup_a, &adj, json!({"amount_fen": -25, "reason": " "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (s, b) = post(&sup_a, &adj, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["total_fen"], 1800);

    // Lock: not an agent, not another team's supervisor; the team's supervisor yes.
    let lock = json!({"month": "2026-11", "team_id": o.team_a.0});
    let (s, _) = post(&agent, "/api/v1/assessments/lock", lock.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post(&sup_b, "/api/v1/assessments/lock", lock.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = post(&sup_a, "/api/v1/assessments/lock", lock).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        b["changed"]
            .as_array()
            .unwrap()
            .contains(&json!(o.agent_a1.0)),
        "{b}"
    );

    // A late payment dated in November: the locked month does not move; adjusting is 409.
    payment(db, ord, c, 20_000, o.admin, at(11, 20)).await;
    let (_, b) = sup_a.get_json(&me).await;
    assert_eq!(b["collected_fen"], 10_001);
    assert_eq!(b["total_fen"], 1800);
    assert!(b["locked"]["locked_at"].is_string(), "{b}");
    let (s, b) = post(&sup_a, &adj, body).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"], "month_locked", "{b}");

    // The year marks November locked and December live.
    let (s, y) = agent.get_json("/api/v1/assessments/year/2026").await;
    assert_eq!(s, StatusCode::OK, "{y}");
    assert_eq!(y["locked_months"], 1);
    assert!(y["months"][10]["locked"].is_object());
    assert_eq!(y["months"][11]["locked"], Value::Null);
    assert_eq!(y["total_fen"], 1800);

    // The .xlsx of the month: the same numbers.
    let res = sup_a
        .get(&format!(
            "/api/v1/assessments/export?month=2026-11&team_id={}",
            o.team_a.0
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<_> = sheet.rows().collect();
    assert_eq!(rows[0][0], Data::String("姓名".into()));
    let row = rows
        .iter()
        .find(|r| r[0] == Data::String("张伟".into()))
        .expect("the agent's row");
    assert_eq!(row[1], Data::String("2026-11".into()));
    assert_eq!(cell_f64(&row[7]), 100.01, "collected");
    assert_eq!(cell_f64(&row[10]), 8.25, "commission");
    assert_eq!(cell_f64(&row[11]), -0.25, "adjustments");
    assert_eq!(cell_f64(&row[12]), 18.0, "bonus");
    assert_eq!(row[13], Data::String("是".into()));

    // Unlock: admins only, with a reason; then the live figures show the late payment.
    let un = json!({"month": "2026-11", "user_id": o.agent_a1.0, "reason": "补录回款"});
    let (s, _) = post(&sup_a, "/api/v1/assessments/unlock", un.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = post(&admin, "/api/v1/assessments/unlock", un).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, b) = agent.get_json(&me).await;
    assert_eq!(b["collected_fen"], 30_001);
    assert_eq!(b["locked"], Value::Null);
    // 30 001 over 30 000 : 10 000 → 22 501 / 7 500: 2 250.1 → 2 250 and 225.
    assert_eq!(b["bonus"]["commission_fen"], 2475);

    // The pages: the supervisor's table with the agent's row and the lock button; the year.
    let web = app.browser("sup_a").await;
    let (s, html) = web.get("/assessments?month=2026-11").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("assess-row-{}", o.agent_a1.0)),
        "{html}"
    );
    assert!(html.contains("assess-lock"));
    assert!(html.contains("¥34.50"), "the live bonus: {html}");
    let (s, html) = web
        .get(&format!(
            "/assessments/year?user_id={}&year=2026",
            o.agent_a1.0
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("assess-month-2026-11"), "{html}");
    let mine = app.browser("agent_a2").await;
    let (s, _) = mine
        .get(&format!(
            "/assessments/year?user_id={}&year=2026",
            o.agent_a1.0
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_assessment_endpoints_are_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/assessments",
        "/api/v1/assessments/{user_id}/{month}",
        "/api/v1/assessments/{user_id}/{month}/adjust",
        "/api/v1/assessments/lock",
        "/api/v1/assessments/unlock",
        "/api/v1/assessments/year/{year}",
        "/api/v1/assessments/rules",
        "/api/v1/assessments/export",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}
