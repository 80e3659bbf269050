//! Sales over real HTTP (issue 23): the product list and the order contract, the discount
//! that waits for the team's supervisor (and may not be confirmed before), finance's payments
//! with overpayment refused, the refusals (an agent's payment 403, a hidden customer's order
//! 404) and the receivables reports as JSON, CSV and .xlsx.

use leadline_domain::{Role, TeamId, UserId};
use leadline_store::auth::{self as store_auth, users};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, customer, post, send};

/// A user made in the store with a bearer token (no password round).
async fn person(app: &TestApp, name: &str, role: Role, team: Option<TeamId>) -> (UserId, Api) {
    let u = users::create_user(
        &app.db,
        &users::NewUser {
            username: name.into(),
            display_name: name.into(),
            role,
            team_id: team,
            password_hash: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    let (_, token) = store_auth::create_token(&app.db, u.id, "sales test")
        .await
        .unwrap();
    let api = Api {
        http: reqwest::Client::new(),
        base: app.base.clone(),
        token: Some(token),
    };
    (u.id, api)
}

async fn get(api: &Api, path: &str) -> (StatusCode, Value) {
    api.get_json(path).await
}

#[tokio::test]
async fn an_order_within_the_limit_is_confirmed_and_finance_collects_it_without_overpaying() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let (rep_id, rep) = person(&app, "rep_a", Role::Sales, Some(app.org.team_a)).await;
    let (_, finance) = person(&app, "cashier", Role::Finance, None).await;
    let agent = app.api("agent_a1").await;
    let (s, p) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "企业版年费", "unit": "年", "price_fen": 50000}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, p2) = post(
        &rep,
        "/api/v1/products",
        json!({"name": "私加产品", "price_fen": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only admins keep the list: {p2}");
    let (s, list) = get(&rep, "/api/v1/products").await;
    assert_eq!(s, StatusCode::OK);
    let first = &list["products"][0];
    assert_eq!(
        (
            first["id"].clone(),
            first["name"].clone(),
            first["price_fen"].clone()
        ),
        (p["id"].clone(), json!("企业版年费"), json!(50000))
    );
    let c = customer(&app, "星河科技有限公司", rep_id).await;
    let (s, order) = post(
        &rep,
        &format!("/api/v1/customers/{c}/orders"),
        json!({"lines": [{"product_id": p["id"], "quantity": 2, "unit_price_fen": 50000}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(
        (order["total_fen"].clone(), order["status"].clone()),
        (json!(100000), json!("confirmed"))
    );
    let id = order["id"].as_i64().unwrap();
    // An agent may not record a payment; finance may, partially, but never beyond what is owed.
    let (s, body) = post(
        &agent,
        &format!("/api/v1/orders/{id}/payments"),
        json!({"amount_fen": 100}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = post(
        &finance,
        &format!("/api/v1/orders/{id}/payments"),
        json!({"amount_fen": 40000, "method": "bank_transfer", "reference": "HX2026"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["amount_fen"], 40000);
    let (s, body) = post(
        &finance,
        &format!("/api/v1/orders/{id}/payments"),
        json!({"amount_fen": 60001}),
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("overpayment")),
        "{body}"
    );
    let (s, body) = post(
        &rep,
        &format!("/api/v1/orders/{id}/returns"),
        json!({"amount_fen": 10000}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a return needs its reason: {body}"
    );
    let (s, body) = post(
        &rep,
        &format!("/api/v1/orders/{id}/returns"),
        json!({"amount_fen": 10000, "reason": "包装破损"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (_, o) = get(&finance, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(o["owed_fen"], 50000);
    // The unpaid report and the day's collections, as JSON and files.
    let (s, unpaid) = get(&finance, "/api/v1/reports/unpaid").await;
    assert_eq!(s, StatusCode::OK, "{unpaid}");
    assert_eq!(unpaid["total"]["not_due"], 50000);
    let (s, daily) = get(&finance, "/api/v1/reports/collections").await;
    assert_eq!(
        (s, daily["total_fen"].clone()),
        (StatusCode::OK, json!(40000)),
        "{daily}"
    );
    let res = finance.get("/api/v1/reports/unpaid?format=csv").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    assert!(
        csv.contains("星河科技有限公司") && csv.contains("500.00"),
        "{csv}"
    );
    let res = finance.get("/api/v1/reports/collections?format=xlsx").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.bytes().await.unwrap().starts_with(b"PK"),
        "an .xlsx is a zip"
    );
    let (s, _) = get(&finance, "/api/v1/reports/unpaid?day=yesterday").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_discount_waits_for_the_teams_supervisor_and_is_not_confirmed_before() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let sup = app.api("sup_a").await;
    let other_sup = app.api("sup_b").await;
    let (rep_id, rep) = person(&app, "rep_a", Role::Sales, Some(app.org.team_a)).await;
    let (_, p) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "企业版年费", "price_fen": 50000}),
    )
    .await;
    let c = customer(&app, "远大贸易", rep_id).await;
    let path = format!("/api/v1/customers/{c}/orders");
    let lines = json!([{"product_id": p["id"], "quantity": 1, "unit_price_fen": 45000}]);
    let (s, body) = post(&rep, &path, json!({"lines": lines})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "no reason: {body}");
    assert_eq!(body["details"]["problems"][0]["field"], "discount_reason");
    // An opportunity that is not this customer's is named, not a server error.
    let (s, body) = post(
        &rep,
        &path,
        json!({"lines": lines, "discount_reason": "x", "opportunity_id": 999_999}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["problems"][0]["field"], "opportunity_id");
    let (s, order) = post(
        &rep,
        &path,
        json!({"lines": lines, "discount_reason": "老客户续约"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(
        (order["status"].clone(), order["total_fen"].clone()),
        (json!("awaiting_approval"), json!(45000))
    );
    let id = order["id"].as_i64().unwrap();
    let (s, body) = post(&rep, &format!("/api/v1/orders/{id}/confirm"), json!({})).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("approval_pending")),
        "{body}"
    );
    // The supervisor's workspace words the request and links to the order (it used to read as
    // a revisit reminder of lead "#null").
    let (status, html) = app.browser("sup_a").await.get("/workspace").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!(
            "<a href=\"/sales/orders/{id}\">优惠销售申请待审批：订单 #{id}</a>"
        )),
        "{html}"
    );
    let (_, mine) = get(&sup, "/api/v1/discount-requests").await;
    let req = mine["requests"][0]["id"]
        .as_i64()
        .expect("the supervisor's list has it");
    let (_, theirs) = get(&other_sup, "/api/v1/discount-requests").await;
    assert_eq!(theirs["requests"], json!([]));
    let decision = format!("/api/v1/discount-requests/{req}/decision");
    let (s, _) = post(&other_sup, &decision, json!({"approve": true})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another team's supervisor");
    let (s, body) = post(&sup, &decision, json!({"approve": true, "note": "同意"})).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("approved")),
        "{body}"
    );
    let (_, o) = get(&rep, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(
        (o["status"].clone(), o["owed_fen"].clone()),
        (json!("confirmed"), json!(45000))
    );
    let (s, body) = post(&sup, &decision, json!({"approve": false, "note": "撤回"})).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("request_decided"))
    );
}

#[tokio::test]
async fn a_hidden_customers_orders_are_not_found() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let (rep_id, rep) = person(&app, "rep_a", Role::Sales, Some(app.org.team_a)).await;
    let agent_b = app.api("agent_b1").await;
    let (_, p) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "耗材包", "price_fen": 1234}),
    )
    .await;
    let c = customer(&app, "远大贸易", rep_id).await;
    let body = json!({"lines": [{"product_id": p["id"], "quantity": 1}]});
    let (s, _) = post(
        &agent_b,
        &format!("/api/v1/customers/{c}/orders"),
        body.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, order) = post(&rep, &format!("/api/v1/customers/{c}/orders"), body).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = order["id"].as_i64().unwrap();
    for path in [
        format!("/api/v1/orders/{id}"),
        format!("/api/v1/customers/{c}/orders"),
    ] {
        let (s, body) = get(&agent_b, &path).await;
        assert!(
            s == StatusCode::NOT_FOUND || body["orders"] == json!([]),
            "{path}: {s} {body}"
        );
    }
    let (s, _) = send(
        &agent_b,
        reqwest::Method::POST,
        &format!("/api/v1/orders/{id}/returns"),
        json!({"amount_fen": 1, "reason": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, unpaid) = get(&agent_b, "/api/v1/reports/unpaid").await;
    assert_eq!(unpaid["customers"], json!([]));
}

/// The pages: the supervisor approves from the 优惠销售申请 page, the admin records a partial
/// payment in yuan on the order page, the unpaid report shows the rest overdue once its due
/// date has passed (the day chosen), and a printable 催收单 states what is due.
#[tokio::test]
async fn the_supervisor_approves_on_the_page_and_the_unpaid_report_shows_the_rest_overdue() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let agent = app.api("agent_a1").await;
    let (_, p) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "企业版年费", "price_fen": 50000}),
    )
    .await;
    let c = customer(&app, "星河科技有限公司", app.org.agent_a1).await;
    let (s, order) = post(
        &agent,
        &format!("/api/v1/customers/{c}/orders"),
        json!({
            "lines": [{"product_id": p["id"], "quantity": 2, "unit_price_fen": 45000}],
            "discount_reason": "老客户续约",
            "instalments": [{"due_date": "2026-12-31", "amount_fen": 90000}],
        }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    let id = order["id"].as_i64().unwrap();
    let sup = app.browser("sup_a").await;
    let (s, html) = sup.get("/sales/approvals").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("老客户续约") && html.contains("10.00%"),
        "{html}"
    );
    let req = order["discount_requests"][0]["id"].as_i64().unwrap();
    let csrf = sup.csrf("/sales/approvals").await;
    let res = sup
        .post_form(
            &format!("/sales/approvals/{req}"),
            &[("_csrf", &csrf), ("decision", "approve"), ("note", "同意")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = sup.get("/sales/approvals").await;
    assert!(
        html.contains("id=\"no-requests\""),
        "decided requests leave the list"
    );

    let boss = app.browser("admin").await;
    let page = format!("/sales/orders/{id}");
    let csrf = boss.csrf(&page).await;
    let res = boss
        .post_form(
            &format!("{page}/payment"),
            &[("_csrf", &csrf), ("amount", "300.5"), ("method", "cash")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = boss.get(&page).await;
    assert!(
        html.contains("¥300.50") && html.contains("¥599.50"),
        "{html}"
    );
    let res = boss
        .post_form(
            &format!("{page}/payment"),
            &[("_csrf", &csrf), ("amount", "600")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "overpaying from the page is refused too"
    );
    let (_, before) = boss.get("/sales/unpaid?day=2026-12-31").await;
    assert!(before.contains("id=\"unpaid-overdue\">¥0.00"), "{before}");
    let (_, after) = boss.get("/sales/unpaid?day=2027-01-15").await;
    assert!(
        after.contains("id=\"unpaid-overdue\">¥599.50") && after.contains("星河科技有限公司"),
        "{after}"
    );
    let res = boss
        .post_form(
            &format!("{page}/notice"),
            &[("_csrf", &csrf), ("notes", "请于月底前付款")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let notice = res.headers()["location"].to_str().unwrap().to_string();
    let (s, html) = boss.get(&notice).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("催收单") && html.contains("id=\"notice-due\">¥599.50"),
        "{html}"
    );
    let (s, html) = agent_page(&app).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("星河科技有限公司"),
        "the owner sees their order: {html}"
    );
}

async fn agent_page(app: &TestApp) -> (StatusCode, String) {
    app.browser("agent_a1").await.get("/sales/orders").await
}

#[tokio::test]
async fn the_new_order_form_takes_a_payment_plan_and_shows_its_problems_at_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let (_, p) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "企业版年费", "price_fen": 100000}),
    )
    .await;
    let product = p["id"].as_i64().unwrap().to_string();
    let c = customer(&app, "星河科技有限公司", app.org.agent_a1).await;
    let customer_id = c.to_string();
    let today = leadline_store::sales::local_day(
        leadline_store::now(),
        leadline_domain::calling_hours::DEFAULT_TZ,
    );
    let day = |d: u64| {
        today
            .checked_add_days(chrono::Days::new(d))
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    let yesterday = today.pred_opt().unwrap().format("%Y-%m-%d").to_string();
    let rep = app.browser("agent_a1").await;
    let form = format!("/sales/orders/new?customer_id={c}");
    let csrf = rep.csrf(&form).await;
    let order = |extra: &[(&'static str, String)]| {
        let mut f: Vec<(&str, String)> = vec![
            ("_csrf", csrf.clone()),
            ("customer_id", customer_id.clone()),
            ("product_0", product.clone()),
            ("quantity_0", "1".into()),
        ];
        f.extend(extra.iter().cloned());
        f
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let rep = &rep;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = rep.post_form("/sales/orders", &pairs).await;
            let status = res.status();
            let location = res
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            (status, location, res.text().await.unwrap())
        }
    };

    // Instalments that do not add up: refused at the plan, what was typed kept.
    let (s, _, html) = send(order(&[
        ("plan_due_0", day(5)),
        ("plan_amount_0", "500".into()),
    ]))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"plan-error\"") && html.contains("分期合计与订单金额不符"),
        "{html}"
    );
    assert!(
        html.contains("value=\"500\""),
        "the amount typed stays: {html}"
    );
    // A due date in the past, and an amount that is no amount: each at its field.
    let (s, _, html) = send(order(&[
        ("plan_due_0", yesterday.clone()),
        ("plan_amount_0", "1000".into()),
    ]))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("不能早于今天"), "{html}");
    let (s, _, html) = send(order(&[
        ("plan_due_0", day(5)),
        ("plan_amount_0", "600".into()),
        ("plan_due_1", day(35)),
        ("plan_amount_1", "四百".into()),
    ]))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"plan-amount-1-error\""), "{html}");
    let (s, _, html) = send(order(&[
        ("plan_count", "3".into()),
        ("plan_first_due", yesterday),
    ]))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"plan-first-due-error\""), "{html}");
    let (s, _, html) = send(order(&[("plan_count", "3".into())])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"plan-first-due-error\""), "{html}");

    // Three monthly instalments split to the 分, the odd 分 on the last.
    let (s, location, _) = send(order(&[
        ("plan_count", "3".into()),
        ("plan_first_due", day(10)),
    ]))
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let id = location.unwrap().rsplit('/').next().unwrap().to_string();
    let api = app.api("agent_a1").await;
    let (s, o) = get(&api, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let plan: Vec<(String, i64)> = o["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["due_date"].as_str().unwrap().to_string(),
                i["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    let first = today.checked_add_days(chrono::Days::new(10)).unwrap();
    let monthly = |m: u32| {
        first
            .checked_add_months(chrono::Months::new(m))
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    assert_eq!(
        plan,
        [
            (monthly(0), 33_333),
            (monthly(1), 33_333),
            (monthly(2), 33_334)
        ]
    );
    // Given instalments that add up: taken as they are.
    let (s, location, _) = send(order(&[
        ("plan_due_0", day(0)),
        ("plan_amount_0", "600".into()),
        ("plan_due_1", day(30)),
        ("plan_amount_1", "400.00".into()),
    ]))
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "due today is not in the past");
    let id = location.unwrap().rsplit('/').next().unwrap().to_string();
    let (_, o) = get(&api, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(o["instalments"][1]["amount_fen"], 40_000);
    // The API refuses a past due date too.
    let (s, body) = post(
        &api,
        &format!("/api/v1/customers/{c}/orders"),
        json!({
            "lines": [{"product_id": p["id"], "quantity": 1}],
            "instalments": [{"due_date": today.pred_opt().unwrap(), "amount_fen": 100000}],
        }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("plan_date_past"), "{body}");
}

#[tokio::test]
async fn a_quotation_is_sent_and_accepted_before_it_becomes_an_order() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let agent = app.api("agent_a1").await;
    let (_, finance) = person(&app, "cashier", Role::Finance, None).await;
    let (_, p) = post(
        &admin,
        "/api/v1/products",
        json!({"name": "企业版年费", "price_fen": 50000}),
    )
    .await;
    let c = customer(&app, "星河科技有限公司", app.org.agent_a1).await;
    let (s, q) = post(
        &agent,
        &format!("/api/v1/customers/{c}/quotations"),
        json!({"lines": [{"product_id": p["id"], "quantity": 2}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    assert_eq!(q["status"], "draft");
    let id = q["id"].as_i64().unwrap();
    let (s, body) = post(&agent, &format!("/api/v1/quotations/{id}/order"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "quotation_not_accepted");
    let (s, body) = post(
        &agent,
        &format!("/api/v1/quotations/{id}/accept"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("quotation_state"))
    );
    let (s, _) = post(
        &finance,
        &format!("/api/v1/quotations/{id}/send"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "finance does not send quotations");
    let (s, body) = post(&agent, &format!("/api/v1/quotations/{id}/send"), json!({})).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("sent")));
    let (s, body) = post(
        &agent,
        &format!("/api/v1/quotations/{id}/accept"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted"))
    );
    let (s, order) = post(&agent, &format!("/api/v1/quotations/{id}/order"), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["total_fen"], 100_000);
    // A rejected quotation never becomes one.
    let (_, q2) = post(
        &agent,
        &format!("/api/v1/customers/{c}/quotations"),
        json!({"lines": [{"product_id": p["id"], "quantity": 1}]}),
    )
    .await;
    let id2 = q2["id"].as_i64().unwrap();
    post(&agent, &format!("/api/v1/quotations/{id2}/send"), json!({})).await;
    let (s, body) = post(
        &agent,
        &format!("/api/v1/quotations/{id2}/reject"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("rejected"))
    );
    let (s, body) = post(
        &agent,
        &format!("/api/v1/quotations/{id2}/order"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("quotation_not_accepted"))
    );
    let (s, _) = post(
        &agent,
        &format!("/api/v1/quotations/{id2}/close"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
