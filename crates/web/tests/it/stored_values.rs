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

/// A damaged role is a 500 wherever the account is read, never a quiet `agent`: its own token
/// stops working, it cannot sign in, and the admin's user list says the list is damaged.
#[tokio::test]
async fn an_account_with_a_damaged_role_answers_stored_value_invalid() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let agent = app.api("agent_a1").await;
    execute(
        &app.db,
        "UPDATE users SET role = 'bogus' WHERE id = $1",
        vec![Arg::I64(app.org.agent_a1.0)],
    )
    .await
    .unwrap();

    assert_stored_value_invalid(&agent, "/api/v1/leads").await;
    let res = app
        .anonymous()
        .post(
            "/api/v1/auth/token",
            json!({"username": "agent_a1", "password": crate::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "stored_value_invalid"
    );
    assert_stored_value_invalid(&admin, "/api/v1/users").await;
    // Other accounts keep working.
    let (status, _) = admin.get_json("/api/v1/leads").await;
    assert_eq!(status, StatusCode::OK);
}

/// A damaged revisit rule or holiday is a 500 on its list, never a rule that schedules other
/// leads or a day left out.
#[tokio::test]
async fn a_damaged_revisit_rule_or_holiday_answers_stored_value_invalid() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let (status, rules) = admin.get_json("/api/v1/revisit-rules").await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    let rule = rules["items"][0]["id"].as_i64().unwrap();
    execute(
        &app.db,
        "UPDATE revisit_rules SET after_last = 'bogus' WHERE id = $1",
        vec![Arg::I64(rule)],
    )
    .await
    .unwrap();
    assert_stored_value_invalid(&admin, "/api/v1/revisit-rules").await;

    execute(
        &app.db,
        "INSERT INTO holidays (day, name, kind) VALUES ('2026-10-01', 'x', 'bogus')",
        Vec::new(),
    )
    .await
    .unwrap();
    assert_stored_value_invalid(&admin, "/api/v1/holidays").await;
}

/// An export meets a lead whose custom values are damaged: the engine's error names the lead,
/// and the download is cut off rather than ending short as if complete.
#[tokio::test]
async fn an_export_of_a_lead_with_damaged_custom_values_fails_naming_the_lead() {
    use leadline_domain::{CustomFieldDef, FieldKind, Role, Viewer};
    use leadline_engine::export_run::{self, ExportFormat};
    use leadline_engine::import_run::RunError;
    use leadline_store::StoreError;
    use leadline_store::leads::LeadFilter;

    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let def = CustomFieldDef {
        key: "budget".into(),
        label_zh: "预算".into(),
        label_en: "Budget".into(),
        kind: FieldKind::Text,
        required: false,
        options: Vec::new(),
    };
    leadline_store::leads::custom_fields::create(&app.db, &def, None)
        .await
        .unwrap();
    let lead = admin
        .create_lead(json!({"name": "周敏", "phone": mobile(1)}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let damage = match app.db.backend() {
        Backend::Sqlite => "UPDATE leads SET custom = '{\"budget\": ' WHERE id = $1",
        Backend::Postgres => "UPDATE leads SET custom = '[\"budget\"]'::jsonb WHERE id = $1",
    };
    execute(&app.db, damage, vec![Arg::I64(id)]).await.unwrap();

    let viewer = Viewer {
        user_id: app.org.admin,
        role: Role::Admin,
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    };
    let exported = export_run::export(
        &app.db,
        &viewer,
        &LeadFilter::default(),
        ExportFormat::Csv,
        tokio::io::sink(),
    )
    .await;
    match exported {
        Err(RunError::Store(StoreError::Corrupt { table, row, .. })) => {
            assert_eq!((table, row), ("leads", id));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }

    let res = admin.get("/api/v1/leads/export?format=csv").await;
    assert!(
        res.bytes().await.is_err(),
        "the download is cut off, not complete"
    );
}
