//! Leads through the API: creation, phones, duplicates, visibility, conflicts, lists.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

#[tokio::test]
async fn an_agent_creates_a_lead_that_it_owns_with_normalised_phones() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let lead = a1
        .create_lead(json!({"name": "王小明", "phones": ["010-6552 9988", "(0755)86013388", "+1 650 253 0000"],
            "company": "北京星河科技有限公司", "tags": "展会, VIP", "intent": "有意向"}))
        .await;
    let phones: Vec<(&str, &str)> = lead["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["raw"].as_str().unwrap(), p["e164"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phones,
        [
            ("010-6552 9988", "+861065529988"),
            ("(0755)86013388", "+8675586013388"),
            ("+1 650 253 0000", "+16502530000")
        ]
    );
    assert_eq!(lead["owner_id"], json!(app.org.agent_a1.0));
    assert_eq!(lead["intent"], "interested");
    assert_eq!(lead["tags"], json!(["VIP", "展会"]));
    assert_eq!(lead["version"], 1);
    let (status, fetched) = a1.get_json(&format!("/api/v1/leads/{}", lead["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["name"], "王小明");
}

#[tokio::test]
async fn a_duplicate_phone_is_refused_naming_its_owner_unless_recorded_as_collision() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let b1 = app.api("agent_b1").await;
    let first = a1
        .create_lead(json!({"name": "刘先生", "phone": "138 0013 8000"}))
        .await;
    let res = b1
        .post(
            "/api/v1/leads",
            json!({"name": "刘总", "phone": "+86 138-0013-8000"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "duplicate_phone");
    // agent_b1 may not see agent_a1's lead: its owner is named, not the lead (issue 21).
    assert_eq!(err["details"]["existing_lead"], Value::Null);
    assert_eq!(err["details"]["owner"]["name"], "张伟");
    assert!(err["message"].as_str().unwrap().contains("张伟"));
    // Nothing was stored by the refused request.
    let (_, list) = b1.get_json("/api/v1/leads?owner=me").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let kept = b1
        .create_lead(json!({"name": "刘总", "phone": "13800138000", "allow_collision": true}))
        .await;
    // The lead it collides with is still not revealed to b1 (issue 22: the case is the way to
    // it); the number is kept as a collision.
    assert_eq!(kept["phones"][0]["collision_with"], Value::Null);
    assert_eq!(kept["phones"][0]["e164"], "+8613800138000");
    let _ = first;
}

#[tokio::test]
async fn bad_fields_are_refused_with_every_problem_named() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let res = a1
        .post(
            "/api/v1/leads",
            json!({"name": "", "phone": "12345", "status": "sold"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = res.json().await.unwrap();
    let fields: Vec<&str> = err["details"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "phones", "status"]);
    let res = a1
        .http
        .post(format!("{}/api/v1/leads", app.base))
        .bearer_auth(a1.token.as_ref().unwrap())
        .header("content-type", "application/json")
        .body("{\"name\": \"broken")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "bad_json");
    let huge = "王".repeat(2 * 1024 * 1024);
    let res = a1.post("/api/v1/leads", json!({"name": huge})).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_stale_version_gets_edit_conflict_and_nothing_is_overwritten() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let lead = a1
        .create_lead(json!({"name": "陈女士", "phone": mobile(1)}))
        .await;
    let path = format!("/api/v1/leads/{}", lead["id"]);
    let res = a1
        .patch(&path, json!({"company": "第一次", "version": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);
    let res = a1
        .patch(&path, json!({"company": "第二次", "version": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "edit_conflict");
    let (_, now) = a1.get_json(&path).await;
    assert_eq!(now["company"], "第一次");
}

#[tokio::test]
async fn quick_search_finds_by_one_character_last_four_digits_company_fragment_and_any_script() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    a1.create_lead(
        json!({"name": "王建国", "phone": "13912345678", "company": "杭州云帆网络有限公司"}),
    )
    .await;
    a1.create_lead(json!({"name": "李四", "phone": "13787654321", "company": "上海启明教育"}))
        .await;
    // A name in a script whose vowel signs SQLite's own tokenizer would take for separators
    // (the index once turned it into a several-token phrase), and a Latin company.
    a1.create_lead(
        json!({"name": "किताब Kumar", "phone": "13611112222", "company": "Acme-Tech Ltd"}),
    )
    .await;
    for (q, expected) in [
        ("王", "王建国"),
        ("5678", "王建国"),
        ("云帆", "王建国"),
        ("4321", "李四"),
        ("启明教", "李四"),
        ("किताब", "किताब Kumar"),
        ("kum", "किताब Kumar"),
        ("ACME tech", "किताब Kumar"),
    ] {
        assert_eq!(found(&a1, q).await, [expected], "query {q}");
    }
}

/// Digits are found wherever they stand together in a number (the end, the middle, the whole,
/// with the trunk zero of a landline) or in a company's name, and not where the same digits only
/// appear apart: 13856712678 holds 567 and 678 but not 5678.
#[tokio::test]
async fn a_digit_search_finds_the_digits_together_anywhere_in_a_number_and_nowhere_else() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    a1.create_lead(json!({"name": "王建国", "phone": "13912345678"}))
        .await;
    a1.create_lead(json!({"name": "赵六", "phone": "13856712678"}))
        .await;
    a1.create_lead(json!({"name": "孙七", "phone": "13500000001", "company": "58同城"}))
        .await;
    a1.create_lead(json!({"name": "周八", "phone": "010-6552 9988"}))
        .await;
    for (q, expected) in [
        ("5678", vec!["王建国"]),
        ("2345", vec!["王建国"]),
        ("139 1234 5678", vec!["王建国"]),
        ("王 5678", vec!["王建国"]),
        ("赵 5678", vec![]),
        ("6712", vec!["赵六"]),
        ("58", vec!["孙七"]),
        ("01065529988", vec!["周八"]),
        ("6552 9988", vec!["周八"]),
    ] {
        assert_eq!(found(&a1, q).await, expected, "query {q}");
    }
}

/// The names of the leads a quick search for `q` lists.
async fn found(client: &Api, q: &str) -> Vec<String> {
    let (status, page) = client
        .get_json(&format!("/api/v1/leads?q={}", urlencode(q)))
        .await;
    assert_eq!(status, StatusCode::OK);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
