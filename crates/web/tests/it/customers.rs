//! Customers over real HTTP (issue 23): converting a lead (201, then 200 with the same
//! customer), the card's contract (grade, owner, balance_fen), who may see a customer (404 for
//! another team's), the list and the sales rep's queue, contacts, and the pages: a rep lands on
//! their queue, the card, converting from the lead's card.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, finance, mobile};

async fn lead(api: &Api, n: u32, company: &str) -> i64 {
    api.create_lead(
        json!({"name": format!("联系人{n}"), "phones": [mobile(n)], "company": company}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

async fn send(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn converting_a_lead_makes_one_customer_owned_by_the_named_rep() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let rep = app.api("sales1").await;
    let l = lead(&agent, 1, "北京星河科技有限公司").await;

    let (status, made) = send(
        agent
            .post(
                &format!("/api/v1/leads/{l}/convert"),
                json!({"sales_rep_id": app.org.sales.0}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let customer = made["customer_id"].as_i64().unwrap();
    assert!(made["opportunity_id"].as_i64().is_some());

    let (status, again) = send(
        agent
            .post(&format!("/api/v1/leads/{l}/convert"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, json!({"customer_id": customer}));
    // A second person of the same company joins it.
    let other = lead(&agent, 2, "星河科技（北京）").await;
    let (status, joined) = send(
        agent
            .post(&format!("/api/v1/leads/{other}/convert"), json!({}))
            .await,
    )
    .await;
    assert_eq!(
        (status, joined["customer_id"].as_i64()),
        (StatusCode::OK, Some(customer))
    );

    let (status, card) = rep.get_json(&format!("/api/v1/customers/{customer}")).await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!(card["grade"], Value::Null);
    assert_eq!(
        card["owner"],
        json!({"id": app.org.sales.0, "name": "黄磊"})
    );
    assert_eq!(card["balance_fen"], json!(0));
    assert_eq!(card["lead_ids"], json!([l, other]));
    assert_eq!(card["contacts"].as_array().unwrap().len(), 2);
    assert_eq!(card["timeline"][0]["kind"], "opportunity");
    assert_eq!(card["history"][0]["action"], "convert");

    let (_, queue) = rep.get_json("/api/v1/customers?mine=1").await;
    assert_eq!(queue["items"][0]["id"].as_i64(), Some(customer));
    assert_eq!(queue["items"][0]["balance_fen"], json!(0));
}

#[tokio::test]
async fn what_one_may_not_see_is_404_and_bad_input_is_422() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let b1 = app.api("agent_b1").await;
    let l = lead(&a1, 1, "星河科技").await;
    // Converting a lead of another team: 404, and nothing was made.
    let (status, body) = send(
        b1.post(&format!("/api/v1/leads/{l}/convert"), json!({}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{body}"
    );
    // Naming someone who is not a sales rep.
    let (status, body) = send(
        a1.post(
            &format!("/api/v1/leads/{l}/convert"),
            json!({"sales_rep_id": app.org.agent_a2.0}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("not_a_sales_rep"), "{body}");

    let (status, made) = send(
        a1.post(&format!("/api/v1/leads/{l}/convert"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let c = made["customer_id"].as_i64().unwrap();
    // Another team's agent: 404 on the card, nothing in the list, 404 on its contacts.
    let (status, _) = b1.get_json(&format!("/api/v1/customers/{c}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = b1.get_json("/api/v1/customers").await;
    assert_eq!(list["items"], json!([]));
    let (status, _) = send(
        b1.post(
            &format!("/api/v1/customers/{c}/contacts"),
            json!({"name": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The owner's supervisor sees it; the other team's does not.
    let (status, _) = app
        .api("sup_a")
        .await
        .get_json(&format!("/api/v1/customers/{c}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .api("sup_b")
        .await
        .get_json(&format!("/api/v1/customers/{c}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Finance reads it but may not change it.
    let cashier = finance(&app).await;
    let (status, card) = cashier.get_json(&format!("/api/v1/customers/{c}")).await;
    assert_eq!(
        (status, card["access"].as_str()),
        (StatusCode::OK, Some("read"))
    );
    let (status, _) = send(
        cashier
            .post(
                &format!("/api/v1/customers/{c}/contacts"),
                json!({"name": "x"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        cashier
            .post(&format!("/api/v1/leads/{l}/convert"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "finance sees no lead");
    // Filters that do not parse.
    for q in ["grade=Z", "status=won", "owner=abc", "limit=x"] {
        let (status, _) = a1.get_json(&format!("/api/v1/customers?{q}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
}

#[tokio::test]
async fn contacts_are_kept_with_their_phones_in_e164() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let l = lead(&a1, 1, "星河科技").await;
    let (_, made) = send(
        a1.post(&format!("/api/v1/leads/{l}/convert"), json!({}))
            .await,
    )
    .await;
    let c = made["customer_id"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{c}/contacts");
    let (status, body) = send(
        a1.post(&path, json!({"name": "赵六", "phones": ["12"]}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, added) = send(
        a1.post(
            &path,
            json!({"name": "赵六", "phones": ["137 0000 1111"], "email": "zhao@example.com", "is_primary": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let id = added["id"].as_i64().unwrap();
    let (_, list) = a1.get_json(&path).await;
    assert_eq!(list["items"][0]["id"].as_i64(), Some(id), "primary first");
    assert_eq!(list["items"][0]["phones"][0]["e164"], "+8613700001111");
    let res = a1
        .http
        .put(app.url(&format!("{path}/{id}")))
        .bearer_auth(a1.token.as_deref().unwrap())
        .json(&json!({"name": "赵六六", "phones": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (_, list) = a1.get_json(&path).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"赵六六"), "{names:?}");
    assert_eq!(
        a1.delete(&format!("{path}/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a1.delete(&format!("{path}/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let (_, list) = a1.get_json(&path).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_sales_rep_lands_on_their_queue_and_the_card_shows_the_customer() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let l = lead(&agent, 1, "深圳海天贸易有限公司").await;

    // Converted from the lead's card by its agent, for the rep.
    let page = app.browser("agent_a1").await;
    let (status, html) = page.get(&format!("/leads/{l}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"convert-form\""),
        "the lead card offers 转为客户"
    );
    assert!(html.contains("黄磊"), "the reps are offered");
    let csrf = page.csrf(&format!("/leads/{l}")).await;
    let res = page
        .post_form(
            &format!("/leads/{l}/convert"),
            &[
                ("_csrf", &csrf),
                ("sales_rep_id", &app.org.sales.0.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The agent may not see the rep's customer: back to the lead, which says it was converted.
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/leads/{l}?converted=1")
    );
    let (_, html) = page.get(&format!("/leads/{l}")).await;
    assert!(html.contains("id=\"lead-converted\"") && !html.contains("id=\"convert-form\""));

    let rep = app.browser("sales1").await;
    let res = rep.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        "/customers?mine=1"
    );
    let (status, html) = rep.get("/customers?mine=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("深圳海天贸易有限公司"),
        "the queue holds the converted customer"
    );
    assert!(html.contains("我的客户队列"));
    let c: i64 = {
        let (_, list) = app
            .api("sales1")
            .await
            .get_json("/api/v1/customers?mine=1")
            .await;
        list["items"][0]["id"].as_i64().unwrap()
    };
    let (status, html) = rep.get(&format!("/customers/{c}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("客户管理卡") && html.contains("联系人1"));
    assert!(html.contains("id=\"customer-owner\">黄磊"));
    assert!(html.contains("id=\"customer-balance\" data-fen=\"0\">0.00"));
    assert!(html.contains("初步接触"), "the opportunity on the timeline");
    // Adding a contact from the card.
    let csrf = rep.csrf(&format!("/customers/{c}")).await;
    let res = rep
        .post_form(
            &format!("/customers/{c}/contacts"),
            &[
                ("_csrf", &csrf),
                ("name", "采购部刘经理"),
                ("phones", "13700001111，021-62345678"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = rep.get(&format!("/customers/{c}")).await;
    assert!(html.contains("采购部刘经理"));
    // Another team's agent: the card is a 404 page; the English card is complete.
    let (status, _) = app
        .browser("agent_b1")
        .await
        .get(&format!("/customers/{c}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    rep.get(&format!("/lang/en?next=/customers/{c}")).await;
    let (_, html) = rep.get(&format!("/customers/{c}")).await;
    assert!(html.contains("Customer card"), "English after switching");
}

#[tokio::test]
async fn the_contract_is_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/leads/{id}/convert",
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/customers/{id}/contacts",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}
