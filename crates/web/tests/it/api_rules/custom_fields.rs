//! Custom fields of every kind: validated on create and patch, stored canonically.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{create_fields, listed, problems, status_json};
use crate::helpers::{TestApp, mobile};

fn every_kind_of_field() -> Vec<Value> {
    vec![
        json!({"key": "industry", "label_zh": "行业", "label_en": "Industry", "kind": "select",
            "required": true, "options": ["教育", "金融", "制造"]}),
        json!({"key": "budget", "label_zh": "预算", "label_en": "Budget", "kind": "number"}),
        json!({"key": "visit_date", "label_zh": "拜访日期", "kind": "date"}),
        json!({"key": "products", "label_zh": "意向产品", "kind": "multi_select",
            "options": ["CRM", "呼叫中心", "短信"]}),
        json!({"key": "backup_phone", "label_zh": "备用电话", "kind": "phone"}),
        json!({"key": "contact_email", "label_zh": "邮箱", "kind": "email"}),
        json!({"key": "remark", "label_zh": "备注", "kind": "text"}),
    ]
}

#[tokio::test]
async fn custom_fields_of_every_kind_are_validated_on_create_and_patch_and_stored_canonically() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let a1 = app.api("agent_a1").await;
    let sup_a = app.api("sup_a").await;
    let fields = every_kind_of_field();
    for who in [&a1, &sup_a] {
        let res = who.post("/api/v1/custom-fields", fields[0].clone()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let (_, list) = a1.get_json("/api/v1/custom-fields").await;
    assert_eq!(list["items"], json!([]), "refused creations stored nothing");
    create_fields(&admin, &fields).await;
    let (status, list) = a1.get_json("/api/v1/custom-fields").await;
    assert_eq!(status, StatusCode::OK, "everyone may read the definitions");
    let listed_fields: Vec<(&str, &str, bool)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap(),
                f["kind"].as_str().unwrap(),
                f["required"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed_fields,
        [
            ("industry", "select", true),
            ("budget", "number", false),
            ("visit_date", "date", false),
            ("products", "multi_select", false),
            ("backup_phone", "phone", false),
            ("contact_email", "email", false),
            ("remark", "text", false),
        ]
    );
    let res = admin.post("/api/v1/custom-fields", fields[1].clone()).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "keys are unique");
    let res = admin
        .post(
            "/api/v1/custom-fields",
            json!({"key": "grade", "label_zh": "等级", "kind": "select"}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a select needs options"
    );
    let res = admin
        .post(
            "/api/v1/custom-fields",
            json!({"key": "grade", "label_zh": "等级", "kind": "colour"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Creation: the required field must be there, every value must fit its kind.
    let (status, body) = status_json(
        a1.post(
            "/api/v1/leads",
            json!({"name": "缺行业", "phone": mobile(1)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "invalid_input");
    assert_eq!(problems(&body), [("industry".into(), "required".into())]);
    let bad: [(&str, Value, &str); 7] = [
        ("budget", json!("很多"), "not_a_number"),
        ("visit_date", json!("2026-02-30"), "bad_date"),
        ("industry", json!("餐饮"), "not_an_option"),
        ("products", json!(["CRM", "传真"]), "not_an_option"),
        ("backup_phone", json!("12345"), "bad_phone"),
        ("contact_email", json!("not-an-email"), "bad_email"),
        ("colour", json!("red"), "unknown_field"),
    ];
    let mut all_bad = serde_json::Map::new();
    for (key, value, code) in &bad {
        let mut custom = json!({"industry": "教育"});
        custom[*key] = value.clone();
        all_bad.insert(key.to_string(), value.clone());
        let (status, body) = status_json(
            a1.post(
                "/api/v1/leads",
                json!({"name": "坏值", "phone": mobile(1), "custom": custom}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{key}={value}");
        assert_eq!(problems(&body), [(key.to_string(), code.to_string())]);
    }
    let (status, body) = status_json(
        a1.post(
            "/api/v1/leads",
            json!({"name": "全坏", "phone": mobile(1), "custom": all_bad}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: BTreeSet<String> = problems(&body).into_iter().map(|(f, _)| f).collect();
    let expected: BTreeSet<String> = bad.iter().map(|(k, _, _)| k.to_string()).collect();
    assert_eq!(named, expected, "every bad field is named at once");
    assert!(listed(&a1, "").await.is_empty(), "nothing was stored");

    // Good values are stored in canonical form.
    let lead = a1
        .create_lead(json!({"name": "好值", "phone": mobile(1), "custom": {
            "industry": "金融", "budget": "1,250,000", "visit_date": "2026/03/05",
            "products": "CRM，短信", "backup_phone": "0755-8601 3388",
            "contact_email": " Li.Na@Example.COM ", "remark": "  老客户介绍  "}}))
        .await;
    let canonical = json!({
        "industry": "金融", "budget": 1250000, "visit_date": "2026-03-05",
        "products": ["CRM", "短信"], "backup_phone": "+8675586013388",
        "contact_email": "li.na@example.com", "remark": "老客户介绍"});
    assert_eq!(lead["custom"], canonical);
    assert!(lead["custom"]["budget"].is_number());
    let path = format!("/api/v1/leads/{}", lead["id"]);
    let (_, fetched) = a1.get_json(&path).await;
    assert_eq!(fetched["custom"], canonical, "read back the same");

    // Patching checks the merged values the same way and writes nothing when refused.
    for (custom, field, code) in [
        (json!({"budget": "abc"}), "budget", "not_a_number"),
        (json!({"industry": null}), "industry", "required"),
        (json!({"colour": "red"}), "colour", "unknown_field"),
        (json!({"contact_email": "x@"}), "contact_email", "bad_email"),
        (json!({"visit_date": "明天"}), "visit_date", "bad_date"),
        (json!({"backup_phone": "abc"}), "backup_phone", "bad_phone"),
        (json!({"products": ["传真"]}), "products", "not_an_option"),
    ] {
        let (status, body) = status_json(a1.patch(&path, json!({"custom": custom})).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "patch {custom}");
        assert_eq!(problems(&body), [(field.to_string(), code.to_string())]);
    }
    let (_, unchanged) = a1.get_json(&path).await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["custom"], canonical);
    let (status, patched) = status_json(
        a1.patch(
            &path,
            json!({"custom": {"budget": 99.5, "products": ["呼叫中心"], "remark": null,
                "visit_date": "2026-04-01"}, "version": 1}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["custom"],
        json!({"industry": "金融", "budget": 99.5, "visit_date": "2026-04-01",
            "products": ["呼叫中心"], "backup_phone": "+8675586013388",
            "contact_email": "li.na@example.com"}),
        "named fields change, null clears, the rest is kept"
    );
}
