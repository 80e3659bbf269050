//! Files that go out come back in (issue 25): a lead export, CSV or .xlsx, imported into
//! another floor gives back the same leads — names, phones as typed (an international `+`
//! number without an apostrophe), custom fields with multi-selects as their options; and a
//! refused row names a custom field by its label.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_imports::{bom_csv, import_done};
use crate::helpers::{Api, TestApp};

fn fields() -> Vec<Value> {
    vec![
        json!({"key": "products", "label_zh": "意向产品", "label_en": "Products",
            "kind": "multi_select", "options": ["专业版", "旗舰版", "短信"]}),
        json!({"key": "industry", "label_zh": "行业", "kind": "select", "options": ["教育", "金融"]}),
        json!({"key": "budget", "label_zh": "预算", "kind": "number"}),
        json!({"key": "visit_date", "label_zh": "拜访日期", "kind": "date"}),
    ]
}

async fn define_fields(admin: &Api) {
    for f in fields() {
        let res = admin.post("/api/v1/custom-fields", f.clone()).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{f}");
    }
}

/// A lead as a person compares it: name, company, phones as typed, custom values.
async fn leads(api: &Api) -> BTreeSet<String> {
    let (status, page) = api.get_json("/api/v1/leads?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut out = BTreeSet::new();
    for item in page["items"].as_array().unwrap() {
        let (_, lead) = api.get_json(&format!("/api/v1/leads/{}", item["id"])).await;
        let phones: BTreeSet<&str> = lead["phones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["raw"].as_str().unwrap())
            .collect();
        out.insert(format!(
            "{} | {} | {:?} | {}",
            lead["name"], lead["company"], phones, lead["custom"]
        ));
    }
    out
}

async fn floor_with_leads() -> (TestApp, Api) {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    define_fields(&admin).await;
    admin
        .create_lead(
            json!({"name": "张伟", "phones": ["+1 650 253 0000", "13800138000"],
            "company": "星河科技",
            "custom": {"products": ["专业版", "旗舰版"], "industry": "教育", "budget": 12000,
                "visit_date": "2026-03-05"}}),
        )
        .await;
    admin
        .create_lead(json!({"name": "李娜", "phones": ["+8613900139000"],
            "custom": {"products": ["短信"]}}))
        .await;
    admin
        .create_lead(json!({"name": "=1+2", "phones": ["13700137000"], "company": "公式公司"}))
        .await;
    (app, admin)
}

async fn export(api: &Api, format: &str) -> Vec<u8> {
    let res = api
        .get(&format!("/api/v1/leads/export?format={format}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_csv_export_imported_again_gives_back_the_same_leads() {
    let (_source, admin) = floor_with_leads().await;
    let before = leads(&admin).await;
    let bytes = export(&admin, "csv").await;
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(
        text.contains("专业版;旗舰版"),
        "multi-select as options: {text}"
    );
    assert!(!text.contains("[\""), "no JSON in the file: {text}");
    assert!(text.contains(",+1 650 253 0000"), "phone unchanged: {text}");
    assert!(!text.contains("'+"), "no apostrophe before a phone: {text}");
    assert!(
        text.contains("'=1+2"),
        "a formula is still neutralised: {text}"
    );

    let target = TestApp::spawn().await;
    let admin_there = target.api("admin").await;
    define_fields(&admin_there).await;
    let job = import_done(&admin_there, "线索.csv", bytes, &[]).await;
    assert_eq!(job["counts"]["imported"], 3, "{job}");
    assert_eq!(job["counts"]["failed"], 0, "{job}");
    assert_eq!(leads(&admin_there).await, before);
}

#[tokio::test]
async fn an_xlsx_export_imported_again_gives_back_the_same_leads() {
    let (_source, admin) = floor_with_leads().await;
    let before = leads(&admin).await;
    let bytes = export(&admin, "xlsx").await;

    let target = TestApp::spawn().await;
    let admin_there = target.api("admin").await;
    define_fields(&admin_there).await;
    let job = import_done(&admin_there, "线索.xlsx", bytes, &[]).await;
    assert_eq!(job["counts"]["imported"], 3, "{job}");
    assert_eq!(job["counts"]["failed"], 0, "{job}");
    assert_eq!(leads(&admin_there).await, before);
}

#[tokio::test]
async fn a_refused_custom_value_is_named_by_its_label_in_chinese_only() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    define_fields(&admin).await;
    let file = "姓名,电话,意向产品\r\n王五,13800138001,企业版\r\n赵六,12,专业版\r\n";
    let job = import_done(&admin, "a.csv", bom_csv(file), &[]).await;
    assert_eq!(job["counts"]["failed"], 2, "{job}");
    let res = admin
        .get(&format!("/api/v1/imports/{}/errors", job["id"]))
        .await;
    let bytes = res.bytes().await.unwrap();
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.contains("意向产品"), "{text}");
    assert!(text.contains("「意向产品」不是可选的值"), "{text}");
    assert!(text.contains("第 3 行：电话号码无效"), "{text}");
    assert!(!text.contains("products"), "no key: {text}");
    assert!(!text.contains("row "), "one language: {text}");
}
