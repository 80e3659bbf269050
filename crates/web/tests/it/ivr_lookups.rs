//! Collect nodes with the store's look-ups (issue 27), over real SIP on either backend: with the
//! call service beside the server, a SIPp caller on 9000 keys 1 (普通话), 1 (order status), an
//! order's number and # and hears its status, open amount and earliest due date; a number no order
//! has is "not found" and asked for again. A rep keys 2 and their phone PIN and hears their month
//! as the assessment has it; three wrong PINs hang up. The stored call lists its digits (a PIN as
//! `*`) and each look-up with the fragments played. PINs are set through the API (4–8 digits;
//! only one's own; an admin resets).

use std::time::Duration;

use chrono::{Datelike, TimeDelta};
use leadline_store::db_run;
use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::speech::{self, Answer, OrderStanding, ReceivableStatus, RepResults};
use leadline_telephony::testkit::{
    End, Step, assert_sipp_passed, caller_scenario, keys, run_sipp, scratch, write_prompts,
};
use leadline_web::call_service::{self, CallServiceSettings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, customer, finance, post, send};

async fn start_service(app: &TestApp) -> leadline_telephony::service::CallService {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let prompt_dir = scratch("lookup-prompts");
    write_prompts(&prompt_dir, &flow);
    let settings = CallServiceSettings {
        bind: "127.0.0.1:0".parse().unwrap(),
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        recording_dir: scratch("lookup-recordings"),
        seat_proxy: None,
    };
    call_service::start(app.db.clone(), settings).await.unwrap()
}

/// Runs one SIPp caller to its end.
async fn dial(service: &leadline_telephony::service::CallService, steps: Vec<Step>, end: End) {
    let scenario = caller_scenario("9000", "13800138000", &steps, end);
    assert_sipp_passed(&run_sipp(scenario.to_str().unwrap(), service.address(), &[]).await);
}

/// The inbound calls once `count` are stored, oldest first.
async fn calls(admin: &Api, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let (status, body) = admin.get_json("/api/v1/calls?direction=inbound").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut list = body["calls"].as_array().cloned().unwrap_or_default();
        if list.len() >= count {
            list.reverse();
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{count} calls were not stored");
}

fn fragments(names: Vec<String>) -> Value {
    json!(names)
}

/// An order of sales1's for 1 234.50 元 in two instalments, the first due ten days ago (moved
/// there after the order was made: a plan may not start in the past) and part paid, the second
/// due in twenty days. Returns its number and the earliest open due day.
async fn overdue_order(app: &TestApp) -> (i64, chrono::NaiveDate) {
    let admin = app.api("admin").await;
    let rep = app.api("sales1").await;
    let now = leadline_store::now();
    let zone = leadline_store::call_stats::org_zone(&app.db).await.unwrap();
    let today = leadline_store::sales::local_day(now, zone);
    let (s, product) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "年度保障计划", "price_fen": 123450}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{product}");
    let customer = customer(app, "星河科技有限公司", app.org.sales).await;
    let first_due = today - TimeDelta::days(10);
    let (s, order) = post(
        &rep,
        &format!("/api/v1/customers/{customer}/orders"),
        json!({
            "lines": [{"product_id": product["id"], "quantity": 1, "unit_price_fen": 123450}],
            "instalments": [
                {"due_date": today + TimeDelta::days(1), "amount_fen": 23450},
                {"due_date": today + TimeDelta::days(20), "amount_fen": 100000}
            ]
        }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "confirmed");
    let id = order["id"].as_i64().unwrap();
    // Eleven days pass: the first instalment is ten days overdue.
    db_run!(&app.db, |pool| sqlx::query(
        "UPDATE payment_instalments SET due_date = $1 WHERE order_id = $2 AND seq = \
         (SELECT MIN(seq) FROM payment_instalments WHERE order_id = $2)"
    )
    .bind(first_due.format("%Y-%m-%d").to_string())
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
    let (s, body) = post(
        &finance(app).await,
        &format!("/api/v1/orders/{id}/payments"),
        json!({"amount_fen": 10000}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    (id, first_due)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_keys_an_order_number_and_hears_its_status_amount_due_and_due_date() {
    let app = TestApp::spawn().await;
    let (order, first_due) = overdue_order(&app).await;
    let service = start_service(&app).await;

    let mut steps = keys(&format!("11{order}#"));
    steps.push(Step::Pause { ms: 3000 });
    dial(&service, steps, End::CallerHangsUp).await;
    // English this time, a number no order has (by SIP INFO), then the order again.
    let mut steps: Vec<Step> = "2199999#".chars().map(Step::Info).collect();
    steps.push(Step::Pause { ms: 1000 });
    steps.extend(keys(&format!("{order}#")));
    steps.push(Step::Pause { ms: 3000 });
    dial(&service, steps, End::CallerHangsUp).await;

    let admin = app.api("admin").await;
    let calls = calls(&admin, 2).await;
    assert_eq!(calls[0]["digits"], format!("11{order}#"));
    let overdue = |language| {
        speech::answer(
            language,
            &Answer::Receivable(ReceivableStatus {
                status: OrderStanding::Overdue,
                // 23 450 − 10 000 still open of the first, all 100 000 of the second.
                open_fen: 113_450,
                next_due: Some((first_due.year(), first_due.month(), first_due.day())),
            }),
        )
    };
    assert_eq!(
        calls[0]["lookups"],
        json!([{
            "lookup": "receivable_status",
            "number": order.to_string(),
            "outcome": "found",
            "fragments": fragments(overdue("cmn")),
        }]),
        "{}",
        calls[0]
    );
    // 一千一百三十四元五角 is said in the answer.
    let said: Vec<String> =
        serde_json::from_value(calls[0]["lookups"][0]["fragments"].clone()).unwrap();
    assert!(said.starts_with(&[
        "ans_status".into(),
        "ans_overdue".into(),
        "ans_open_amount".into(),
        "say_1".into(),
        "say_1000".into(),
        "say_1".into(),
        "say_100".into(),
        "say_3".into(),
        "say_10".into(),
        "say_4".into(),
        "say_yuan".into(),
        "say_5".into(),
        "say_jiao".into(),
    ]));

    assert_eq!(calls[1]["digits"], format!("2199999#{order}#"));
    let lookups = calls[1]["lookups"].as_array().unwrap();
    assert_eq!(lookups.len(), 2, "{}", calls[1]);
    assert_eq!(
        (
            &lookups[0]["number"],
            &lookups[0]["outcome"],
            &lookups[0]["fragments"]
        ),
        (
            &json!("99999"),
            &json!("not_found"),
            &json!(["ans_not_found"])
        )
    );
    assert_eq!(lookups[1]["outcome"], "found");
    assert_eq!(lookups[1]["fragments"], fragments(overdue("en")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_keys_their_pin_and_hears_their_month_and_three_wrong_pins_hang_up() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let rep = app.api("sales1").await;
    let agent = app.api("agent_a1").await;
    // 5 % commission on what is collected.
    let (s, body) = send(
        &admin,
        Method::PUT,
        "/api/v1/assessments/rules",
        json!({"default_rate_bp": 500}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    overdue_order(&app).await;

    // PINs: 4–8 digits, one's own; an agent may not reset someone else's.
    for bad in ["12a4", "123", "123456789"] {
        let (s, body) = send(
            &rep,
            Method::PUT,
            "/api/v1/me/phone-pin",
            json!({"pin": bad}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (s, _) = send(
        &rep,
        Method::PUT,
        "/api/v1/me/phone-pin",
        json!({"pin": "1234"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let reset = format!("/api/v1/users/{}/phone-pin", app.org.sales.0);
    assert_eq!(agent.delete(&reset).await.status(), StatusCode::FORBIDDEN);
    let stored: Option<String> = db_run!(&app.db, |pool| sqlx::query_scalar(
        "SELECT phone_pin_hash FROM users WHERE id = $1"
    )
    .bind(app.org.sales)
    .fetch_one(pool)
    .await
    .unwrap());
    assert!(stored.is_some_and(|hash| hash.starts_with("$argon2") && !hash.contains("1234")));

    let service = start_service(&app).await;
    let mut steps = keys("121234#");
    steps.push(Step::Pause { ms: 3000 });
    dial(&service, steps, End::CallerHangsUp).await;
    let mut steps = keys("12");
    for pin in ["9999", "4321", "12345"] {
        steps.extend(keys(&format!("{pin}#")));
    }
    dial(&service, steps, End::ServiceHangsUp).await;

    let month = {
        let zone = leadline_store::call_stats::org_zone(&app.db).await.unwrap();
        let today = leadline_store::sales::local_day(leadline_store::now(), zone);
        format!("{:04}-{:02}", today.year(), today.month())
    };
    let (s, assessment) = admin
        .get_json(&format!("/api/v1/assessments/{}/{month}", app.org.sales.0))
        .await;
    assert_eq!(s, StatusCode::OK, "{assessment}");
    let results = RepResults {
        orders: assessment["done"]["orders"].as_i64().unwrap(),
        amount_fen: assessment["done"]["revenue_fen"].as_i64().unwrap(),
        commission_fen: assessment["bonus"]["commission_fen"].as_i64().unwrap(),
    };
    // One order of 1 234.50 元, 100 元 collected at 5 %: 5 元 commission.
    assert_eq!(
        results,
        RepResults {
            orders: 1,
            amount_fen: 123_450,
            commission_fen: 500
        }
    );

    let calls = calls(&admin, 2).await;
    assert_eq!(calls[0]["digits"], "12****#");
    assert_eq!(
        calls[0]["lookups"],
        json!([{
            "lookup": "rep_results",
            "number": null,
            "outcome": "found",
            "fragments": fragments(speech::answer("cmn", &Answer::Rep(results))),
        }])
    );
    assert_eq!(calls[1]["digits"], "12****#****#*****#");
    assert_eq!(calls[1]["hung_up_by"], "service");
    let outcomes: Vec<&Value> = calls[1]["lookups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lookup| &lookup["outcome"])
        .collect();
    assert_eq!(outcomes, [&json!("wrong_pin"); 3]);

    // An admin resets the PIN: it no longer opens the rep's month.
    assert_eq!(admin.delete(&reset).await.status(), StatusCode::NO_CONTENT);
    let mut steps = keys("121234#");
    steps.push(Step::Pause { ms: 1500 });
    dial(&service, steps, End::CallerHangsUp).await;
    let calls = self::calls(&admin, 3).await;
    assert_eq!(calls[2]["lookups"][0]["outcome"], "wrong_pin");
}

#[tokio::test]
async fn a_person_sets_and_clears_their_phone_pin_on_their_page_and_the_api_is_documented() {
    let app = TestApp::spawn().await;
    let page = app.browser("sales1").await;
    let (status, html) = page.get("/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("尚未设置电话密码"), "{html}");
    let csrf = page.csrf("/tokens").await;
    let res = page
        .post_form("/phone-pin", &[("_csrf", &csrf), ("pin", "24680")])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let (_, html) = page.get("/tokens").await;
    assert!(
        html.contains("已设置电话密码") && !html.contains("24680"),
        "{html}"
    );
    let stored = leadline_store::auth::phone_pin::find_by_pin(&app.db, "24680")
        .await
        .unwrap();
    assert_eq!(stored, Some(app.org.sales));
    // Letters are refused; the PIN stays as it was.
    let res = page
        .post_form("/phone-pin", &[("_csrf", &csrf), ("pin", "24a80")])
        .await;
    assert!(!res.status().is_success(), "{}", res.status());
    let res = page
        .post_form("/phone-pin", &[("_csrf", &csrf), ("clear", "1")])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let (_, html) = page.get("/tokens").await;
    assert!(html.contains("尚未设置电话密码"), "{html}");

    let (_, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    for path in ["/api/v1/me/phone-pin", "/api/v1/users/{id}/phone-pin"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}
