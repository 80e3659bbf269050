//! Reminder calls (催缴) on either backend: a past-due instalment's series is listed with its
//! amount and number for admins and the owning rep, not for agents or another team's supervisor;
//! an unknown status filter is refused. With the call service, Kamailio, a SIPp customer and the
//! rep's baresip seat, a due reminder is dialled, key 1 reaches the rep and the answer lands in
//! the series; a customer on the do-not-call list is never dialled. A revisit confirmation
//! (回访确认) planned the day after an order is confirmed is dialled, the customer's key 1
//! confirms it and the page says so.

use chrono::{Duration, Utc};
use leadline_store::db_run;
use leadline_store::telephony::reminder_calls;
use reqwest::StatusCode;
use serde_json::json;

use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::testkit::{Answer, Seat};
use leadline_web::reminder_dialer;

use crate::click_to_call::{floor, give_seat};
use crate::helpers::{self, Api, TestApp};

/// A customer of `owner` with one contact phone.
async fn customer_with_phone(
    app: &TestApp,
    owner: leadline_domain::UserId,
    name: &str,
    e164: &str,
) -> i64 {
    let id = helpers::customer(app, name, owner).await;
    let now = leadline_store::now();
    db_run!(&app.db, |pool| {
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
    });
    id
}

/// A product at 500.00 元.
async fn product(admin: &Api) -> i64 {
    let res = admin
        .post(
            "/api/v1/products",
            json!({"name": "企业版年费", "unit": "年", "price_fen": 50000}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// An order of `customer` for 500.00 元 due in one instalment five days from now; the due day.
async fn owes(rep: &Api, product: i64, customer: i64) -> String {
    let due = (Utc::now() + Duration::days(5))
        .format("%Y-%m-%d")
        .to_string();
    let res = rep
        .post(
            &format!("/api/v1/customers/{customer}/orders"),
            json!({"lines": [{"product_id": product, "quantity": 1, "unit_price_fen": 50000}],
                   "instalments": [{"due_date": due, "amount_fen": 50000}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    due
}

/// The series `path` lists, as soon as it lists any (30 s at most).
async fn once_done(admin: &Api, path: &str) -> Vec<serde_json::Value> {
    for _ in 0..120 {
        let (_, body) = admin.get_json(path).await;
        let rows = body["reminder_calls"].as_array().unwrap();
        if !rows.is_empty() {
            return rows.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    Vec::new()
}

#[tokio::test]
async fn a_past_due_instalments_reminder_call_is_listed_for_those_who_see_the_customer() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let rep = app.api("sales1").await;
    let product = product(&admin).await;
    let customer =
        customer_with_phone(&app, app.org.sales, "长江电器有限公司", "+8613900139000").await;
    let due = owes(&rep, product, customer).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_reminder_is_dialled_key_1_reaches_the_rep_and_the_answer_lands_in_the_series() {
    let f = floor("remind-web", Flow::parse(DEMO_FLOW).unwrap()).await;
    let app = &f.app;
    give_seat(app, app.org.sales, "8021").await;
    let _rep_seat = Seat::baresip("8021", &f.kamailio, Answer::Auto);
    let _customer = Seat::sipp("8613900139021", &f.kamailio, "customer_presses_1.xml").await;
    let admin = app.api("admin").await;
    let rep = app.api("sales1").await;
    let product = product(&admin).await;
    let answering =
        customer_with_phone(app, app.org.sales, "长江电器有限公司", "+8613900139021").await;
    let refusing =
        customer_with_phone(app, app.org.sales, "黄河贸易有限公司", "+8613900139022").await;
    let res = admin
        .post(
            "/api/v1/dnc",
            json!({"numbers": ["+8613900139022"], "reason": "客户要求"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    owes(&rep, product, answering).await;
    owes(&rep, product, refusing).await;
    let later = Utc::now() + Duration::days(10);
    assert_eq!(reminder_calls::plan(&app.db, later).await.unwrap(), 2);

    let dialled = reminder_dialer::dial_due(&app.db, f.service.as_ref(), later)
        .await
        .unwrap();
    assert_eq!(dialled, 1, "the do-not-call customer is not dialled");
    let done = once_done(&admin, "/api/v1/reminder-calls?status=done").await;
    assert_eq!(done.len(), 1, "the answered reminder's series is done");
    let row = &done[0];
    assert_eq!(row["customer_name"], "长江电器有限公司");
    assert_eq!(
        (&row["result"], &row["key_pressed"], &row["attempts"]),
        (&json!("answered"), &json!("1"), &json!(1))
    );
    let (_, all) = admin.get_json("/api/v1/reminder-calls").await;
    let skipped: Vec<_> = all["reminder_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "skipped")
        .map(|r| {
            (
                r["customer_name"].clone(),
                r["skip_reason"].clone(),
                r["attempts"].clone(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![(json!("黄河贸易有限公司"), json!("dnc"), json!(0))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revisit_is_dialled_the_day_after_the_order_and_the_customers_key_1_confirms_it() {
    let f = floor("revisit-web", Flow::parse(DEMO_FLOW).unwrap()).await;
    let app = &f.app;
    give_seat(app, app.org.sales, "8022").await;
    let _rep_seat = Seat::baresip("8022", &f.kamailio, Answer::Auto);
    let _customer = Seat::sipp("8613900139023", &f.kamailio, "customer_confirms_1.xml").await;
    let admin = app.api("admin").await;
    let rep = app.api("sales1").await;
    let product = product(&admin).await;
    let customer =
        customer_with_phone(app, app.org.sales, "长江电器有限公司", "+8613900139023").await;
    owes(&rep, product, customer).await;
    let ordered = leadline_store::now();
    assert_eq!(
        reminder_calls::plan_revisits(&app.db, ordered)
            .await
            .unwrap(),
        0,
        "not on the day of the order"
    );
    let next_day = ordered + Duration::days(1) + Duration::minutes(1);
    assert_eq!(
        reminder_calls::plan_revisits(&app.db, next_day)
            .await
            .unwrap(),
        1
    );
    let dialled = reminder_dialer::dial_due(&app.db, f.service.as_ref(), next_day)
        .await
        .unwrap();
    assert_eq!(dialled, 1);
    let done = once_done(&admin, "/api/v1/reminder-calls?status=done&kind=revisit").await;
    assert_eq!(done.len(), 1, "the confirmed revisit's series is done");
    assert_eq!(
        (
            &done[0]["kind"],
            &done[0]["result"],
            &done[0]["key_pressed"],
            &done[0]["amount_fen"]
        ),
        (
            &json!("revisit"),
            &json!("answered"),
            &json!("1"),
            &json!(50000)
        )
    );
    let (_, payments) = admin.get_json("/api/v1/reminder-calls?kind=payment").await;
    assert!(payments["reminder_calls"].as_array().unwrap().is_empty());
    let res = admin.get("/api/v1/reminder-calls?kind=bogus").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (s, page) = app
        .browser("sales1")
        .await
        .get("/reminder-calls?kind=revisit")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("回访确认") && page.contains("客户已确认") && page.contains("500.00"),
        "{page}"
    );
    let order = done[0]["order_id"].as_i64().unwrap();
    let (s, card) = app
        .browser("sales1")
        .await
        .get(&format!("/sales/orders/{order}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        card.contains("order-calls") && card.contains("回访确认 · 已接听 · 客户已确认"),
        "{card}"
    );
}
