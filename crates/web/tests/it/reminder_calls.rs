//! Reminder calls (催缴) through the API and the page, on either backend: a past-due instalment's
//! series is listed with its amount and number for admins and the owning rep, not for agents or
//! another team's supervisor; an unknown status filter is refused.

use chrono::{Duration, Utc};
use leadline_store::db_run;
use leadline_store::telephony::reminder_calls;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

/// A customer of `owner` with one contact phone.
async fn customer_with_phone(app: &TestApp, owner: leadline_domain::UserId, e164: &str) -> i64 {
    let now = leadline_store::now();
    db_run!(&app.db, |pool| {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (kind, name, owner_id, status, created_at, updated_at) \
             VALUES ('company', '长江电器有限公司', $1, 'prospect', $2, $2) RETURNING id",
        )
        .bind(owner)
        .bind(now)
        .fetch_one(pool)
        .await
        .unwrap();
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO customer_contacts (customer_id, name, is_primary, created_at, updated_at) \
             VALUES ($1, '周经理', TRUE, $2, $2) RETURNING id",
        )
        .bind(id)
        .bind(now)
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO customer_contact_phones (contact_id, customer_id, e164, raw) VALUES ($1, $2, $3, $3)",
        )
        .bind(contact)
        .bind(id)
        .bind(e164)
        .execute(pool)
        .await
        .unwrap();
        id
    })
}

#[tokio::test]
async fn a_past_due_instalments_reminder_call_is_listed_for_those_who_see_the_customer() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let rep = app.api("sales1").await;
    let res = admin
        .post(
            "/api/v1/products",
            json!({"name": "企业版年费", "unit": "年", "price_fen": 50000}),
        )
        .await;
    let s = res.status();
    let product: serde_json::Value = res.json().await.unwrap();
    assert_eq!(s, StatusCode::CREATED);
    let customer = customer_with_phone(&app, app.org.sales, "+8613900139000").await;
    let due = (Utc::now() + Duration::days(5))
        .format("%Y-%m-%d")
        .to_string();
    let res = rep
        .post(
            &format!("/api/v1/customers/{customer}/orders"),
            json!({"lines": [{"product_id": product["id"], "quantity": 1, "unit_price_fen": 50000}],
                   "instalments": [{"due_date": due, "amount_fen": 50000}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Ten days on, the instalment is five days overdue.
    let later = Utc::now() + Duration::days(10);
    assert_eq!(reminder_calls::plan(&app.db, later).await.unwrap(), 1);

    let (s, body) = admin.get_json("/api/v1/reminder-calls").await;
    assert_eq!(s, StatusCode::OK);
    let rows = body["reminder_calls"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            &rows[0]["e164"],
            &rows[0]["amount_fen"],
            &rows[0]["status"],
            &rows[0]["due_date"]
        ),
        (
            &json!("+8613900139000"),
            &json!(50000),
            &json!("pending"),
            &json!(due)
        )
    );
    let (_, mine) = rep.get_json("/api/v1/reminder-calls?status=pending").await;
    assert_eq!(mine["reminder_calls"].as_array().unwrap().len(), 1);
    let (_, done) = rep.get_json("/api/v1/reminder-calls?status=done").await;
    assert!(done["reminder_calls"].as_array().unwrap().is_empty());
    for who in ["agent_a1", "sup_b"] {
        let (s, theirs) = app.api(who).await.get_json("/api/v1/reminder-calls").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            theirs["reminder_calls"].as_array().unwrap().is_empty(),
            "{who} does not see another's customer"
        );
    }
    let res = admin.get("/api/v1/reminder-calls?status=bogus").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    assert!(doc["paths"].get("/api/v1/reminder-calls").is_some());

    let (s, page) = app.browser("admin").await.get("/reminder-calls").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("长江电器有限公司") && page.contains("+8613900139000"));
    assert!(page.contains("待拨打") && page.contains("500.00"), "{page}");
    let (_, page) = app.browser("agent_a1").await.get("/reminder-calls").await;
    assert!(page.contains("reminder-calls-none") && !page.contains("长江电器有限公司"));
}
