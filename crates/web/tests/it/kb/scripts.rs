//! Call scripts: placeholders filled from the lead and the agent, versions that come back, and
//! usage counted from calls.

use leadline_domain::{LeadId, ScriptId};
use leadline_store::workday::calls::{self, NewCall};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::create_script;
use crate::helpers::{TestApp, mobile};

#[tokio::test]
async fn placeholders_are_filled_from_the_lead_and_the_agent() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let res = admin
        .post(
            "/api/v1/custom-fields",
            json!({"key": "industry", "label_zh": "行业", "label_en": "Industry", "kind": "text"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(
            json!({"name": "王小明", "phone": mobile(1), "company": "星河科技",
            "custom": {"industry": "教育培训"}}),
        )
        .await;
    let script = create_script(
        &agent,
        json!({"title": "开场白", "category": "开场白",
            "body": "{{lead.name}}您好，我是{{ agent.name }}。贵司{{lead.company}}在{{lead.custom.industry}}行业，您是{{lead.title}}吧？"}),
    )
    .await;
    let (status, filled) = agent
        .get_json(&format!(
            "/api/v1/scripts/{}/render?lead_id={}",
            script["id"], lead["id"]
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{filled}");
    assert_eq!(
        filled["text"],
        "王小明您好，我是张伟。贵司星河科技在教育培训行业，您是[lead.title]吧？"
    );
    assert_eq!(filled["missing"], json!(["lead.title"]));
    assert_eq!(
        filled["pieces"][0],
        json!({"key": "lead.name", "value": "王小明"})
    );
    assert_eq!(filled["pieces"][1], json!({"text": "您好，我是"}));

    // An unknown placeholder is refused when saving, not discovered on a call.
    let res = agent
        .post(
            "/api/v1/scripts",
            json!({"title": "x", "body": "您好 {{lead.password}}"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["details"]["problems"][0]["code"], "unknown_placeholder");

    // Filling for a lead the caller may not see reveals nothing.
    let other = app.api("agent_b1").await;
    let hidden = other
        .create_lead(json!({"name": "赵六", "phone": mobile(2)}))
        .await;
    let (status, _) = agent
        .get_json(&format!(
            "/api/v1/scripts/{}/render?lead_id={}",
            script["id"], hidden["id"]
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The lead page shows the script filled in for that lead.
    let browser = app.browser("agent_a1").await;
    let (status, html) = browser
        .get(&format!("/leads/{}?script={}", lead["id"], script["id"]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"lead-script\""), "{html}");
    assert!(html.contains("<span class=\"ph\">王小明</span>"), "{html}");
    assert!(
        html.contains("<span class=\"missing\">[客户职位]</span>"),
        "{html}"
    );
}

#[tokio::test]
async fn every_edit_keeps_a_version_and_old_ones_come_back() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let s = create_script(
        &agent,
        json!({"title": "价格异议", "category": "异议处理", "body": "第一版：理解您的顾虑。"}),
    )
    .await;
    let id = s["id"].as_i64().unwrap();
    assert_eq!(s["version"], 1);
    let res = agent
        .patch(
            &format!("/api/v1/scripts/{id}"),
            json!({"body": "第二版：我们算一笔账。", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v2: Value = res.json().await.unwrap();
    assert_eq!(v2["version"], 2);

    // Someone who read version 1 cannot overwrite version 2.
    let res = agent
        .patch(
            &format!("/api/v1/scripts/{id}"),
            json!({"body": "过期的修改", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "edit_conflict");
    assert_eq!(err["details"]["current_version"], 2);

    let (_, versions) = agent
        .get_json(&format!("/api/v1/scripts/{id}/versions"))
        .await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    let (status, v1) = agent
        .get_json(&format!("/api/v1/scripts/{id}/versions/1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v1["body"], "第一版：理解您的顾虑。");
    assert_eq!(v1["edited_by_name"], "张伟");

    // Restoring makes a new version with the old text; history is never rewritten.
    let res = agent
        .post(
            &format!("/api/v1/scripts/{id}/versions/1/restore"),
            json!({"version": 2}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v3: Value = res.json().await.unwrap();
    assert_eq!(v3["version"], 3);
    assert_eq!(v3["body"], "第一版：理解您的顾虑。");
    let (_, versions) = agent
        .get_json(&format!("/api/v1/scripts/{id}/versions"))
        .await;
    assert_eq!(versions["items"][0]["restored_from"], 1);
    assert_eq!(versions["items"].as_array().unwrap().len(), 3);
    let (_, history) = agent
        .get_json(&format!("/api/v1/scripts/{id}/history"))
        .await;
    let actions: Vec<&str> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update", "restore_version"]);

    // The version pages show an old version and restore it through a form.
    let browser = app.browser("agent_a1").await;
    let (status, html) = browser.get(&format!("/scripts/{id}?v=2")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"viewing-version\""));
    assert!(html.contains("第二版：我们算一笔账。"));
    let csrf = browser.csrf(&format!("/scripts/{id}")).await;
    let res = browser
        .post_form(
            &format!("/scripts/{id}/restore"),
            &[("_csrf", &csrf), ("version", "2"), ("current", "3")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, now) = agent.get_json(&format!("/api/v1/scripts/{id}")).await;
    assert_eq!(now["version"], 4);
    assert_eq!(now["body"], "第二版：我们算一笔账。");

    // A stale save from the editor keeps what was typed and says why.
    let res = browser
        .post_form(
            &format!("/scripts/{id}"),
            &[
                ("_csrf", &csrf),
                ("version", "3"),
                ("title", "价格异议"),
                ("category", "异议处理"),
                ("body", "我在旧页面上写的新话术"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("我在旧页面上写的新话术"), "{html}");
    assert!(html.contains("id=\"form-error\""));
}

#[tokio::test]
async fn usage_and_outcome_are_counted_from_calls() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let s = create_script(
        &a1,
        json!({"title": "回访话术", "body": "您好，上次聊到的方案您考虑得怎么样？", "shared": true}),
    )
    .await;
    let lead = a1
        .create_lead(json!({"name": "孙七", "phone": mobile(3)}))
        .await;
    let call = |disposition: &str| NewCall {
        lead_id: LeadId(lead["id"].as_i64().unwrap()),
        agent_id: app.org.agent_a1,
        started_at: chrono::Utc::now(),
        duration_s: 60,
        disposition: disposition.into(),
        intent: None,
        notes: String::new(),
        next_revisit_at: None,
        script_id: Some(ScriptId(s["id"].as_i64().unwrap())),
    };
    calls::insert_many(
        &app.db,
        &[
            call("no_answer"),
            call("connected"),
            call("qualified"),
            call("busy"),
        ],
    )
    .await
    .unwrap();
    let (_, got) = a1.get_json(&format!("/api/v1/scripts/{}", s["id"])).await;
    assert_eq!(
        got["usage"],
        json!({"uses": 4, "connected": 2, "qualified": 1, "connected_rate": 0.5, "qualified_rate": 0.25})
    );
    let (_, html) = app.browser("agent_a2").await.get("/scripts").await;
    assert!(html.contains("回访话术"));
    assert!(html.contains("50%") && html.contains("25%"), "{html}");
}
