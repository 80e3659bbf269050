//! Stored values that do not parse (issue 20, part 5): a lead whose status or custom JSON was
//! damaged in the database answers a 500 with the code `stored_value_invalid` and a generic
//! message, never a lead with a default status or empty custom values.

use leadline_store::Backend;
use leadline_store::db::sql::{Arg, execute};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

/// Asserts the answer of a read of a damaged lead: a 500 with its code and words that say
/// nothing about the table or the value.
async fn assert_stored_value_invalid(api: &Api, path: &str) {
    let res = api.get(path).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "stored_value_invalid", "{path}: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(!message.is_empty(), "{body}");
    assert!(
        !message.contains("leads") && !message.contains("bogus"),
        "the message is generic: {message}"
    );
}

#[tokio::test]
async fn a_lead_with_a_damaged_status_or_custom_value_answers_stored_value_invalid() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let lead = admin
        .create_lead(json!({"name": "周敏", "phone": mobile(1)}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let path = format!("/api/v1/leads/{id}");

    execute(
        &app.db,
        "UPDATE leads SET status = 'bogus' WHERE id = $1",
        vec![Arg::I64(id)],
    )
    .await
    .unwrap();
    assert_stored_value_invalid(&admin, &path).await;
    assert_stored_value_invalid(&admin, "/api/v1/leads").await;
    // Recording a call reads the status too: it must not start over from `new`.
    let res = admin
        .post(
            &format!("{path}/calls"),
            json!({"disposition": "no_answer", "duration_s": 5}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "stored_value_invalid"
    );

    execute(
        &app.db,
        "UPDATE leads SET status = 'new' WHERE id = $1",
        vec![Arg::I64(id)],
    )
    .await
    .unwrap();
    let (status, fine) = admin.get_json(&path).await;
    assert_eq!(status, StatusCode::OK, "{fine}");
    assert_eq!(fine["name"], "周敏");

    // Not an object (PostgreSQL's JSONB holds only JSON; SQLite's text may hold anything).
    let damage = match app.db.backend() {
        Backend::Sqlite => "UPDATE leads SET custom = '{\"budget\": ' WHERE id = $1",
        Backend::Postgres => "UPDATE leads SET custom = '[\"budget\"]'::jsonb WHERE id = $1",
    };
    execute(&app.db, damage, vec![Arg::I64(id)]).await.unwrap();
    assert_stored_value_invalid(&admin, &path).await;

    // The page answers the same failure as an error page.
    let browser = app.browser("admin").await;
    let (status, html) = browser.get(&format!("/leads/{id}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!html.contains("周敏"), "no lead shown");
}
