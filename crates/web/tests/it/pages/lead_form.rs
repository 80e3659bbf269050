//! The lead form: custom fields as controls of their type, bad values redisplayed, multi-select
//! boxes, and a stale edit refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::html::{
    Form, attr, by_id, has_flag, lead_id_from, location, open_tag, tags, text, text_of,
};
use super::{create_fields, lead_count, the_fields};
use crate::helpers::{TestApp, mobile};

#[tokio::test]
async fn custom_fields_are_rendered_as_controls_of_their_type() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let a1 = app.browser("agent_a1").await;
    let (status, html) = a1.get("/leads/new").await;
    assert_eq!(status, StatusCode::OK);
    let form = by_id(&html, "lead-form").unwrap();

    let level = open_tag(form, "name=\"cf.level\"").unwrap();
    assert!(level.starts_with("<select"), "{level}");
    assert!(has_flag(level, "required"), "a required field: {level}");
    let options: Vec<String> = tags(by_id(form, "cf-level").unwrap(), "option")
        .into_iter()
        .map(|t| attr(t, "value").unwrap())
        .collect();
    assert_eq!(options, ["", "A", "B", "C"]);
    assert!(text(form).contains("客户等级 *"));

    let boxes: Vec<&str> = tags(form, "input")
        .into_iter()
        .filter(|t| attr(t, "name").as_deref() == Some("cf.products"))
        .collect();
    assert_eq!(boxes.len(), 3, "one box per option");
    for (tag, option) in boxes.iter().zip(["CRM", "呼叫中心", "短信"]) {
        assert_eq!(attr(tag, "type").as_deref(), Some("checkbox"), "{tag}");
        assert_eq!(attr(tag, "value").as_deref(), Some(option));
        assert!(!has_flag(tag, "required"));
    }
    for (key, ty) in [
        ("visit_date", "date"),
        ("budget", "number"),
        ("contact_email", "email"),
    ] {
        let tag = open_tag(form, &format!("name=\"cf.{key}\"")).unwrap();
        assert!(tag.starts_with("<input"), "{tag}");
        assert_eq!(attr(tag, "type").as_deref(), Some(ty), "{key}: {tag}");
        assert!(!has_flag(tag, "required"), "{key} is optional: {tag}");
    }
    // A required text field gets the attribute too.
    create_fields(
        &app,
        &[json!({"key": "wechat", "label_zh": "微信号", "kind": "text", "required": true})],
    )
    .await;
    let (_, html) = a1.get("/leads/new").await;
    let tag = open_tag(&html, "name=\"cf.wechat\"").unwrap();
    assert!(has_flag(tag, "required"), "{tag}");
}

#[tokio::test]
async fn a_bad_value_redisplays_the_form_with_422_naming_the_field_and_keeping_the_input() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get("/leads/new").await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    form.set("name", "钱多多")
        .set("phones", &mobile(7))
        .set("company", "保留有限公司")
        .set("cf.level", "B")
        .set("cf.budget", "很多")
        .set("cf.contact_email", "qian@")
        .set("cf.visit_date", "2026-02-30")
        .add("cf.products", "短信");
    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    let error = text_of(&html, "form-error");
    assert!(error.starts_with("输入有误："), "{error}");
    for part in [
        "预算: 不是数字",
        "联系邮箱: 不是有效的邮箱",
        "拜访日期: 日期格式应为 2026-01-31",
    ] {
        assert!(error.contains(part), "{part:?} in {error:?}");
    }
    assert!(
        !error.contains("budget") && !error.contains("contact_email"),
        "{error}"
    );
    // What was typed is still there.
    let kept = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(kept.get("name"), Some("钱多多"));
    assert_eq!(kept.get("phones"), Some(mobile(7).as_str()));
    assert_eq!(kept.get("company"), Some("保留有限公司"));
    assert_eq!(kept.get("cf.level"), Some("B"));
    assert_eq!(kept.get("cf.budget"), Some("很多"));
    assert_eq!(kept.get("cf.contact_email"), Some("qian@"));
    assert_eq!(kept.get("cf.visit_date"), Some("2026-02-30"));
    assert_eq!(kept.get("cf.products"), Some("短信"));
    assert!(kept.get("_csrf").is_some_and(|t| t.len() == 64));
    // The bad fields are marked.
    let budget_label = &html[..html.find("name=\"cf.budget\"").unwrap()];
    let label_tag = &budget_label[budget_label.rfind("<label").unwrap()..];
    assert!(
        label_tag.starts_with("<label class=\"bad\">"),
        "{label_tag}"
    );
    assert_eq!(lead_count(&app).await, 0);

    // A required select left empty is named too.
    let mut empty = kept.clone();
    empty
        .set("cf.level", "")
        .set("cf.budget", "12,000")
        .set("cf.contact_email", "Qian@Example.com")
        .set("cf.visit_date", "2026-02-28");
    let res = empty.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = text_of(&res.text().await.unwrap(), "form-error");
    assert!(error.contains("客户等级: 必填"), "{error}");

    // Corrected, the same form saves.
    let res = empty.set("cf.level", "B").submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = lead_id_from(&location(&res));
    let (_, lead) = app
        .api("agent_a1")
        .await
        .get_json(&format!("/api/v1/leads/{id}"))
        .await;
    assert_eq!(lead["company"], "保留有限公司");
    assert_eq!(lead["custom"]["budget"], json!(12000));
    assert_eq!(lead["custom"]["contact_email"], "qian@example.com");
    assert_eq!(lead["custom"]["level"], "B");
}

#[tokio::test]
async fn the_bad_value_message_uses_the_english_label_in_english() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let a1 = app.browser("agent_a1").await;
    a1.get("/lang/en?next=/leads").await;
    let (_, html) = a1.get("/leads/new").await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    form.set("name", "Qian")
        .set("cf.level", "A")
        .set("cf.budget", "lots");
    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = text_of(&res.text().await.unwrap(), "form-error");
    assert!(error.contains("Budget: is not a number"), "{error}");
}

#[tokio::test]
async fn checked_multi_select_boxes_are_stored_as_a_list() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get("/leads/new").await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(form.get("cf.products"), None, "no box is checked at first");
    form.set("name", "周多选")
        .set("phones", &mobile(3))
        .set("cf.level", "A")
        .add("cf.products", "CRM")
        .add("cf.products", "短信");
    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = lead_id_from(&location(&res));
    let api = app.api("agent_a1").await;
    let (_, lead) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(lead["custom"]["products"], json!(["CRM", "短信"]));

    let (_, html) = a1.get(&format!("/leads/{id}")).await;
    assert!(
        html.contains("<dd class=\"custom\">CRM, 短信</dd>"),
        "{html}"
    );
    let (_, html) = a1.get(&format!("/leads/{id}/edit")).await;
    let edit = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(
        edit.fields
            .iter()
            .filter(|(k, _)| k == "cf.products")
            .count(),
        2
    );
    let checked: Vec<&str> = edit
        .fields
        .iter()
        .filter(|(k, _)| k == "cf.products")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(checked, ["CRM", "短信"]);

    // Unticking everything clears the field.
    let mut none = edit.clone();
    none.fields.retain(|(k, _)| k != "cf.products");
    let res = none.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, lead) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert!(
        lead["custom"].get("products").is_none_or(Value::is_null),
        "{}",
        lead["custom"]
    );
}

#[tokio::test]
async fn submitting_a_stale_edit_form_is_a_409_and_keeps_the_other_change() {
    let app = TestApp::spawn().await;
    let api = app.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "吴冲突", "phone": mobile(11), "company": "原公司"}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get(&format!("/leads/{id}/edit")).await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(form.get("version"), Some("1"));
    assert_eq!(form.action, format!("/leads/{id}"));

    let res = api
        .patch(
            &format!("/api/v1/leads/{id}"),
            json!({"company": "接口改的公司", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = form.set("company", "表单改的公司").submit(&a1).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("该记录已被他人修改，请刷新后再改（您的修改未保存）"),
        "{html}"
    );
    let (_, now) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(now["company"], "接口改的公司");
    assert_eq!(now["version"], 2);

    // Reloading the form picks up the new version and then saves.
    let (_, html) = a1.get(&format!("/leads/{id}/edit")).await;
    let mut fresh = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(fresh.get("version"), Some("2"));
    assert_eq!(fresh.get("company"), Some("接口改的公司"));
    let res = fresh.set("company", "表单改的公司").submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, now) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(now["company"], "表单改的公司");
    assert_eq!(now["version"], 3);
}
