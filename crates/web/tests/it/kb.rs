//! Call scripts, the knowledge base and search, through the API and the pages: placeholders,
//! versions and restore, sharing and pins, who sees what (in lists and in search), highlighted
//! snippets, safe Markdown, and a relevance set of Chinese and English questions that must find
//! the right article in the top three.

use leadline_domain::{LeadId, ScriptId};
use leadline_store::demo;
use leadline_store::workday::calls::{self, NewCall};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

/// Creates a script and returns its JSON, asserting success.
async fn create_script(api: &Api, body: Value) -> Value {
    let res = api.post("/api/v1/scripts", body.clone()).await;
    let status = res.status();
    let json: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "creating {body}: {json}");
    json
}

/// Creates an article and returns its JSON, asserting success.
async fn create_article(api: &Api, body: Value) -> Value {
    let res = api.post("/api/v1/kb/articles", body.clone()).await;
    let status = res.status();
    let json: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "creating {body}: {json}");
    json
}

/// The search results for `query` (already URL-encoded pairs after `q=`).
async fn search(api: &Api, q: &str, extra: &str) -> Vec<Value> {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, body) = api.get_json(&format!("/api/v1/search?q={q}{extra}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn ids_of(items: &[Value], kind: &str) -> Vec<i64> {
    items
        .iter()
        .filter(|i| i["kind"] == kind)
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

fn script_ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

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
async fn private_scripts_stay_private_until_shared() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let sup_a = app.api("sup_a").await;
    let sup_b = app.api("sup_b").await;
    let admin = app.api("admin").await;
    let s = create_script(
        &a1,
        json!({"title": "我的独门开场白", "category": "开场白", "body": "您好，我是张伟，打扰您三十秒讲讲独门秘籍。"}),
    )
    .await;
    let id = s["id"].as_i64().unwrap();
    assert_eq!(s["shared"], false);
    assert_eq!(s["can_edit"], true);

    // Another agent cannot see it: not listed, not found, not searchable, not editable.
    let (_, list) = a2.get_json("/api/v1/scripts").await;
    assert!(!script_ids(&list).contains(&id));
    assert_eq!(
        a2.get_json(&format!("/api/v1/scripts/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(ids_of(&search(&a2, "独门秘籍", "").await, "script").is_empty());
    let res = a2
        .patch(&format!("/api/v1/scripts/{id}"), json!({"title": "改掉"}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        a2.get_json(&format!("/api/v1/scripts/{id}/versions"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // The owner, the owner's supervisor and an admin can; another team's supervisor cannot.
    assert_eq!(ids_of(&search(&a1, "独门秘籍", "").await, "script"), [id]);
    assert_eq!(
        ids_of(&search(&sup_a, "独门秘籍", "").await, "script"),
        [id]
    );
    assert_eq!(
        ids_of(&search(&admin, "独门秘籍", "").await, "script"),
        [id]
    );
    assert!(ids_of(&search(&sup_b, "独门秘籍", "").await, "script").is_empty());
    let (_, list) = sup_b.get_json("/api/v1/scripts").await;
    assert!(!script_ids(&list).contains(&id));
    // Nor does the library page show it.
    let (_, html) = app.browser("agent_a2").await.get("/scripts").await;
    assert!(!html.contains("我的独门开场白"));

    // Only someone who may edit it can share it.
    let res = a2
        .post(&format!("/api/v1/scripts/{id}/share"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = a1
        .post(&format!("/api/v1/scripts/{id}/share"), Value::Null)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let shared: Value = res.json().await.unwrap();
    assert_eq!(shared["shared"], true);

    // Now everyone reads it, but only its owner (and managers) change it.
    let (_, list) = a2.get_json("/api/v1/scripts").await;
    assert!(script_ids(&list).contains(&id));
    let (status, seen) = a2.get_json(&format!("/api/v1/scripts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["can_edit"], false);
    assert_eq!(ids_of(&search(&a2, "独门秘籍", "").await, "script"), [id]);
    assert_eq!(
        ids_of(&search(&sup_b, "独门秘籍", "").await, "script"),
        [id]
    );
    let res = a2
        .patch(&format!("/api/v1/scripts/{id}"), json!({"title": "改掉"}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = a2.delete(&format!("/api/v1/scripts/{id}")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = sup_a
        .patch(
            &format!("/api/v1/scripts/{id}"),
            json!({"title": "主管润色过的开场白"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Made private again, it disappears again.
    let res = a1
        .post(
            &format!("/api/v1/scripts/{id}/share"),
            json!({"shared": false}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(ids_of(&search(&a2, "独门秘籍", "").await, "script").is_empty());

    // Deleted, it is gone for its owner too.
    assert_eq!(
        a1.delete(&format!("/api/v1/scripts/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(ids_of(&search(&a1, "独门秘籍", "").await, "script").is_empty());
    assert_eq!(
        a1.get_json(&format!("/api/v1/scripts/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn supervisors_pin_shared_scripts_for_their_team() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let sup_a = app.api("sup_a").await;
    let team_a = app.org.team_a.0;
    let team_b = app.org.team_b.0;
    let s = create_script(
        &a1,
        json!({"title": "邀约演示", "category": "促成", "body": "{{lead.name}}，明天下午三点给您演示可以吗？"}),
    )
    .await;
    let id = s["id"].as_i64().unwrap();
    let pin = format!("/api/v1/scripts/{id}/pin");

    assert_eq!(
        a1.post(&pin, json!({"team_id": team_a})).await.status(),
        StatusCode::FORBIDDEN,
        "agents cannot pin"
    );
    let res = sup_a.post(&pin, json!({"team_id": team_a})).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "private scripts are not pinned"
    );
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["details"]["problems"][0]["code"], "script_private");

    a1.post(&format!("/api/v1/scripts/{id}/share"), json!({}))
        .await;
    let res = sup_a.post(&pin, json!({})).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a supervisor's own team is the default"
    );
    let pinned: Value = res.json().await.unwrap();
    assert_eq!(pinned["pinned_teams"], json!([team_a]));
    assert_eq!(
        sup_a.post(&pin, json!({"team_id": team_b})).await.status(),
        StatusCode::FORBIDDEN,
        "only for the teams one supervises"
    );
    let (_, list) = a1
        .get_json(&format!("/api/v1/scripts?pinned={team_a}"))
        .await;
    assert_eq!(script_ids(&list), [id]);

    // The lead page of a team-A agent opens on the pinned script, filled in.
    let lead = a1
        .create_lead(json!({"name": "钱多多", "phone": mobile(7)}))
        .await;
    let (_, html) = app
        .browser("agent_a1")
        .await
        .get(&format!("/leads/{}", lead["id"]))
        .await;
    assert!(
        html.contains("<span class=\"ph\">钱多多</span>，明天下午三点"),
        "{html}"
    );

    let res = sup_a
        .delete(&format!("/api/v1/scripts/{id}/pin?team_id={team_a}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let unpinned: Value = res.json().await.unwrap();
    assert_eq!(unpinned["pinned_teams"], json!([]));
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

#[tokio::test]
async fn call_notes_are_found_only_by_those_who_see_the_lead() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let b1 = app.api("agent_b1").await;
    let mine = a1
        .create_lead(json!({"name": "周八", "phone": mobile(4)}))
        .await;
    let theirs = b1
        .create_lead(json!({"name": "吴九", "phone": mobile(5)}))
        .await;
    let note = |lead: &Value, agent, notes: &str| NewCall {
        lead_id: LeadId(lead["id"].as_i64().unwrap()),
        agent_id: agent,
        started_at: chrono::Utc::now(),
        duration_s: 120,
        disposition: "connected".into(),
        intent: None,
        notes: notes.into(),
        next_revisit_at: None,
        script_id: None,
    };
    calls::insert_many(
        &app.db,
        &[
            note(&mine, app.org.agent_a1, "客户关心售后，想要上门培训"),
            note(&theirs, app.org.agent_b1, "客户也想要上门培训，下周再联系"),
        ],
    )
    .await
    .unwrap();
    let leads_of = |items: Vec<Value>| -> Vec<i64> {
        items
            .iter()
            .filter(|i| i["kind"] == "call_note")
            .map(|i| i["lead_id"].as_i64().unwrap())
            .collect()
    };
    let (m, t) = (mine["id"].as_i64().unwrap(), theirs["id"].as_i64().unwrap());
    assert_eq!(leads_of(search(&a1, "上门培训", "").await), [m]);
    assert_eq!(leads_of(search(&b1, "上门培训", "").await), [t]);
    assert_eq!(
        leads_of(search(&app.api("sup_a").await, "上门培训", "").await),
        [m]
    );
    let mut all = leads_of(search(&app.api("admin").await, "上门培训", "").await);
    all.sort();
    assert_eq!(all, [m, t]);
    let hits = search(&a1, "上门培训", "&kind=call_note").await;
    assert_eq!(hits[0]["title"], "周八");
    assert_eq!(hits[0]["url"], format!("/leads/{m}#call-{}", hits[0]["id"]));
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>上门</mark><mark>培训</mark>")
            || hits[0]["snippet"]
                .as_str()
                .unwrap()
                .contains("<mark>上门培训</mark>"),
        "{}",
        hits[0]
    );

    // A lead that moves to another owner takes its notes out of the old owner's reach.
    let res = app
        .api("admin")
        .await
        .patch(
            &format!("/api/v1/leads/{m}"),
            json!({"owner_id": app.org.agent_b1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(leads_of(search(&a1, "上门培训", "").await).is_empty());
}

#[tokio::test]
async fn snippets_mark_the_hits_and_escape_the_text() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let filler = "这一段只是背景说明，与问题无关。".repeat(12);
    let a = create_article(
        &sup,
        json!({"title": "退款 <b>须知</b>", "category": "政策制度",
            "body": format!("{filler}\n\n客户要求退款时，先确认订单号；<i>退款</i>五个工作日内原路返回。\n\n{filler}")}),
    )
    .await;
    let hits = search(&sup, "退款", "").await;
    assert_eq!(hits[0]["id"], a["id"]);
    assert_eq!(hits[0]["kind"], "article");
    assert_eq!(hits[0]["title"], "退款 <b>须知</b>");
    assert_eq!(
        hits[0]["title_html"],
        "<mark>退款</mark> &lt;b&gt;须知&lt;/b&gt;"
    );
    let snippet = hits[0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("要求<mark>退款</mark>时"), "{snippet}");
    assert!(
        snippet.contains("&lt;i&gt;<mark>退款</mark>&lt;/i&gt;"),
        "{snippet}"
    );
    assert!(
        snippet.starts_with('…') && snippet.ends_with('…'),
        "{snippet}"
    );
    assert!(!snippet.contains("<i>") && !snippet.contains("<b>"));
    assert_eq!(hits[0]["url"], format!("/kb/articles/{}", a["id"]));

    // Search as you type: an unfinished English word matches as a prefix.
    create_article(
        &sup,
        json!({"title": "Refund policy", "body": "Refunds are paid back within five working days."}),
    )
    .await;
    let hits = search(&sup, "refu", "").await;
    assert_eq!(hits[0]["title"], "Refund policy");
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>Refunds</mark>")
    );

    // Nothing to search for is no results, and a bad kind is a clear error.
    assert!(search(&sup, " 的 ", "").await.is_empty());
    let (status, err) = sup.get_json("/api/v1/search?q=x&kind=lead").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["details"]["problems"][0]["field"], "kind");
}

#[tokio::test]
async fn markdown_is_rendered_without_script_injection() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let a = create_article(
        &sup,
        json!({"title": "格式示例", "category": "测试",
            "body": "# 标题\n\n**重点**：<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[点我](javascript:alert(1)) [官网](https://example.com)\n\n<a href=\"javascript:alert(2)\" onclick=\"alert(3)\">raw</a>"}),
    )
    .await;
    let html = a["html"].as_str().unwrap();
    assert!(html.contains("<h1>标题</h1>"), "{html}");
    assert!(html.contains("<strong>重点</strong>"), "{html}");
    assert!(
        html.contains("<a href=\"https://example.com\">官网</a>"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<a href=\"javascript"), "{html}");
    assert!(html.contains("<a href=\"#\">点我</a>"), "{html}");
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        assert!(
            !tag.contains("onerror") && !tag.contains("onclick") && !tag.contains("javascript"),
            "a tag with a script in it: <{tag}> in {html}"
        );
    }
    let (status, page) = app
        .browser("agent_a1")
        .await
        .get(&format!("/kb/articles/{}", a["id"]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<strong>重点</strong>"));
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
}

#[tokio::test]
async fn articles_are_written_by_supervisors_with_history() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let sup = app.api("sup_a").await;
    let res = agent
        .post(
            "/api/v1/kb/articles",
            json!({"title": "x", "body": "y", "category": "z"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let a = create_article(
        &sup,
        json!({"title": "发票开具说明", "category": "政策制度/财务", "tags": "发票, 财务",
            "body": "付款到账后开具发票。"}),
    )
    .await;
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["category"], "政策制度/财务");
    assert_eq!(a["tags"], json!(["发票", "财务"]));
    assert_eq!(a["author_name"], "王主管");
    let res = agent
        .patch(&format!("/api/v1/kb/articles/{id}"), json!({"title": "改"}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let admin = app.api("admin").await;
    let res = admin
        .patch(
            &format!("/api/v1/kb/articles/{id}"),
            json!({"body": "付款到账后 3 个工作日内开具电子发票。", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = sup
        .patch(
            &format!("/api/v1/kb/articles/{id}"),
            json!({"body": "旧页面上的修改", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let (_, history) = agent
        .get_json(&format!("/api/v1/kb/articles/{id}/history"))
        .await;
    let who: Vec<(&str, &str)> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap(),
                c["actor_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(who, [("create", "王主管"), ("update", "管理员")]);

    // The tree holds both levels; filters by category include sub-categories.
    let (_, cats) = agent.get_json("/api/v1/kb/categories").await;
    let paths: Vec<&str> = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["政策制度", "政策制度/财务"]);
    let (_, list) = agent
        .get_json("/api/v1/kb/articles?category=%E6%94%BF%E7%AD%96%E5%88%B6%E5%BA%A6")
        .await;
    assert_eq!(list["items"][0]["id"], id);

    // The article page says who wrote and who changed it.
    let (_, page) = app
        .browser("agent_a1")
        .await
        .get(&format!("/kb/articles/{id}"))
        .await;
    assert!(page.contains("王主管") && page.contains("管理员"));
    assert!(
        !page.contains("id=\"edit-article\""),
        "agents get no edit link"
    );

    // Deleting takes it out of search.
    assert!(!search(&agent, "电子发票", "").await.is_empty());
    assert_eq!(
        sup.delete(&format!("/api/v1/kb/articles/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(search(&agent, "电子发票", "").await.is_empty());
}

#[tokio::test]
async fn kind_and_category_filters_narrow_the_search() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    create_article(
        &sup,
        json!({"title": "价格异议怎么回应", "category": "异议处理", "body": "客户嫌价格高时先认同。"}),
    )
    .await;
    create_article(
        &sup,
        json!({"title": "版本价格表", "category": "产品知识/版本", "body": "标准版价格每年 1200 元。"}),
    )
    .await;
    create_script(
        &sup,
        json!({"title": "价格异议话术", "category": "异议处理", "body": "理解您觉得价格高。", "shared": true}),
    )
    .await;
    let kinds = |items: &[Value]| -> Vec<String> {
        let mut k: Vec<String> = items
            .iter()
            .map(|i| i["kind"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k.dedup();
        k
    };
    assert_eq!(
        kinds(&search(&sup, "价格", "").await),
        ["article", "script"]
    );
    assert_eq!(
        kinds(&search(&sup, "价格", "&kind=script").await),
        ["script"]
    );
    let cat: String = form_urlencoded::byte_serialize("异议处理".as_bytes()).collect();
    let hits = search(&sup, "价格", &format!("&category={cat}")).await;
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h["category"] == "异议处理"));
    let cat: String = form_urlencoded::byte_serialize("产品知识".as_bytes()).collect();
    let hits = search(&sup, "价格", &format!("&category={cat}")).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["title"], "版本价格表");
}

/// (question, words the expected article's title starts with).
const RELEVANCE: &[(&str, &str)] = &[
    ("太贵了", "价格异议"),
    ("价格高", "价格异议"),
    ("便宜点", "价格异议"),
    ("客户嫌价格太高怎么办", "价格异议"),
    ("能不能再便宜一点", "价格异议"),
    ("too expensive", "价格异议"),
    ("标准版和专业版有什么区别", "产品版本对比"),
    ("企业版有哪些功能", "产品版本对比"),
    ("product editions", "产品版本对比"),
    ("退款", "退款政策"),
    ("怎么退钱", "退款政策"),
    ("refund policy", "退款政策"),
    ("怎么安装", "安装与部署"),
    ("私有化部署需要什么服务器", "安装与部署"),
    ("installation", "安装与部署"),
    ("竞争对手", "与主要竞品"),
    ("客户在用别的CRM", "与主要竞品"),
    ("compare with competitors", "与主要竞品"),
    ("把资料发我邮箱", "客户说“把资料发我邮箱”"),
    ("send me info by e-mail", "客户说“把资料发我邮箱”"),
    ("客户说在开会没空", "客户说“现在忙"),
    ("call back later", "客户说“现在忙"),
    ("怎么找到老板", "如何找到决策人"),
    ("decision maker", "如何找到决策人"),
    ("合同期限多长", "合同条款"),
    ("contract terms", "合同条款"),
    ("开专票需要什么资料", "发票开具"),
    ("invoice", "发票开具"),
    ("免费试用", "免费试用"),
    ("free trial", "免费试用"),
    ("客服几点上班", "售后服务"),
    ("support hours", "售后服务"),
    ("客户资料放你们那安全吗", "数据安全"),
    ("data security", "数据安全"),
    ("打八折谁审批", "折扣审批"),
    ("discount approval", "折扣审批"),
    ("客户说暂时不需要", "客户说“暂时不需要"),
    ("老客户续费有优惠吗", "续费与升级"),
    ("开场白怎么说", "开场白"),
    ("午休时间能打电话吗", "电话礼仪"),
];

#[tokio::test]
async fn the_right_article_is_in_the_top_three() {
    let app = TestApp::spawn().await;
    let admin = leadline_store::auth::users::find_for_login(&app.db, "admin")
        .await
        .unwrap()
        .unwrap()
        .0;
    let viewer = leadline_store::auth::users::viewer(&app.db, &admin)
        .await
        .unwrap();
    demo::kb::seed_articles(&app.db, &viewer).await.unwrap();
    let agent = app.api("agent_a1").await;
    assert!(RELEVANCE.len() >= 30);
    let mut misses = Vec::new();
    let mut first = 0;
    for (q, expected) in RELEVANCE {
        let hits = search(&agent, q, "&kind=article&limit=10").await;
        let titles: Vec<&str> = hits.iter().map(|h| h["title"].as_str().unwrap()).collect();
        match titles.iter().position(|t| t.starts_with(expected)) {
            Some(0) => first += 1,
            Some(p) if p < 3 => {}
            _ => misses.push(format!("{q} → {:?}", &titles[..titles.len().min(3)])),
        }
    }
    eprintln!(
        "relevance: {}/{} first, {} outside the top 3",
        first,
        RELEVANCE.len(),
        misses.len()
    );
    assert!(
        misses.is_empty(),
        "not in the top 3:\n{}",
        misses.join("\n")
    );
}

#[tokio::test]
async fn the_pages_work_in_chinese_and_english() {
    let app = TestApp::spawn().await;
    let sup = app.browser("sup_a").await;
    // A script written through the form.
    let csrf = sup.csrf("/scripts/new").await;
    let res = sup
        .post_form(
            "/scripts",
            &[
                ("_csrf", &csrf),
                ("title", "页面上写的话术"),
                ("category", "开场白"),
                ("body", "{{lead.name}}您好！"),
                ("shared", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let script_url = res.headers()["location"].to_str().unwrap().to_string();
    // A bad one keeps what was typed and names the field in the form's words.
    let res = sup
        .post_form(
            "/scripts",
            &[("_csrf", &csrf), ("title", ""), ("body", "保留我写的内容")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("保留我写的内容") && html.contains("标题: 必填"),
        "{html}"
    );
    // An article written through the form.
    let csrf = sup.csrf("/kb/articles/new").await;
    let res = sup
        .post_form(
            "/kb/articles",
            &[
                ("_csrf", &csrf),
                ("title", "页面上写的文章"),
                ("category", "产品知识/安装"),
                ("tags", "安装, 部署"),
                ("body", "## 步骤\n\n1. 下载\n2. 安装"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let article_url = res.headers()["location"].to_str().unwrap().to_string();
    let (_, page) = sup.get(&format!("{article_url}/edit")).await;
    assert!(page.contains("页面上写的文章"));

    let agent = app.browser("agent_a1").await;
    for (path, zh) in [
        ("/scripts", "话术库"),
        ("/scripts/new", "新建话术"),
        (script_url.as_str(), "版本历史"),
        ("/kb", "知识库"),
        (
            "/kb?category=%E4%BA%A7%E5%93%81%E7%9F%A5%E8%AF%86",
            "页面上写的文章",
        ),
        (article_url.as_str(), "修改记录"),
        ("/search?q=%E5%AE%89%E8%A3%85", "<mark>安装</mark>"),
    ] {
        let (status, html) = agent.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(zh), "{path} in Chinese: {html}");
        assert!(
            html.contains("href=\"/kb\""),
            "nav links to the knowledge base"
        );
    }
    let res = agent.get("/lang/en?next=/kb").await;
    assert!(res.0.is_redirection() || res.0 == StatusCode::OK);
    for (path, en) in [
        ("/scripts", "Script library"),
        ("/kb", "Knowledge base"),
        ("/search", "Search"),
        (article_url.as_str(), "Changes"),
    ] {
        let (_, html) = agent.get(path).await;
        assert!(html.contains(en), "{path} in English: {html}");
    }
    // Agents cannot reach the article editor.
    assert_eq!(agent.get("/kb/articles/new").await.0, StatusCode::FORBIDDEN);
}
