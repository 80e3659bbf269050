//! Ownership in the agent's workspace over real HTTP (issue 22): a valid follow-up on a pool
//! contact of a company a colleague owns is recorded but does not take it (one case, the answer
//! names the owner); the workspace warns before the call (owner, since when, protection, last
//! calls) and opens the case from the warning; reclaim warnings and reclaims show in the
//! workspace once, worded, with a link to the lead.

use chrono::TimeDelta;
use leadline_domain::ownership::RuleScope;
use leadline_store::db::sql::{Arg, execute};
use leadline_store::ownership::reclaim;
use leadline_store::{Db, db_run, now};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::calls::open_all_day;
use crate::helpers::{TestApp, mobile, post};

async fn open_cases(db: &Db) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM collisions WHERE status = 'open'"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn a_valid_follow_up_on_a_colleagues_customer_keeps_the_call_but_not_the_lead() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    // The pool contact first (entered after, it would join a1 as a contact of a1's company).
    let contact = admin
        .create_lead(json!({"name": "申达采购", "phones": [mobile(9702)], "company": "申达贸易有限公司", "pool": true}))
        .await["id"]
        .as_i64()
        .unwrap();
    a1.create_lead(
        json!({"name": "申达王总", "phones": [mobile(9701)], "company": "上海申达贸易有限公司"}),
    )
    .await;
    let path = format!("/api/v1/leads/{contact}/calls");
    let mut cases = Vec::new();
    for disposition in ["connected", "call_back"] {
        let (status, body) = post(
            &a2,
            &path,
            json!({"disposition": disposition, "duration_s": 40}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "the call is recorded: {body}");
        assert_eq!(body["claimed"], json!(false), "{body}");
        let c = &body["collision"];
        assert_eq!(c["owner_name"], json!("张伟"), "{body}");
        assert_eq!(c["owner_id"], json!(app.org.agent_a1.0));
        assert_eq!(c["match_kind"], json!("company"));
        assert!(c["owned_since"].is_string(), "{body}");
        assert!(c["case_id"].is_i64(), "{body}");
        assert!(
            c.get("lead_id").is_none() && c.get("existing_lead").is_none(),
            "{c}"
        );
        cases.push(c["case_id"].clone());
    }
    assert_eq!(cases[0], cases[1], "one case, not one per call");
    assert_eq!(open_cases(&app.db).await, 1);
    let (_, lead) = admin.get_json(&format!("/api/v1/leads/{contact}")).await;
    assert_eq!(lead["owner_id"], Value::Null, "still in the pool");
    let (_, calls) = admin.get_json(&path).await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 2);
    // A call that is no follow-up says nothing of it.
    let (_, body) = post(&a2, &path, json!({"disposition": "no_answer"})).await;
    assert_eq!(body["collision"], Value::Null, "{body}");
    // The case is a2's to see.
    let (status, case) = a2
        .get_json(&format!("/api/v1/collisions/{}", cases[0]))
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
}

#[tokio::test]
async fn the_workspace_warns_before_calling_a_colleagues_customer_and_opens_the_case() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let b1 = app.api("agent_b1").await;
    let contact = admin
        .create_lead(json!({"name": "星河前台", "phones": [mobile(9712)], "company": "星河科技（北京）有限公司", "pool": true}))
        .await["id"]
        .as_i64()
        .unwrap();
    let owned = a1
        .create_lead(json!({"name": "星河李总", "phones": [mobile(9711)], "company": "北京星河科技股份有限公司"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let (status, body) = post(
        &a1,
        &format!("/api/v1/leads/{owned}/calls"),
        json!({"disposition": "connected", "notes": "报价三万"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The JSON: owner, since when, no protection, a1's call without its notes; no case yet.
    let api_path = format!("/api/v1/agent/leads/{contact}/collision");
    let (status, got) = a2.get_json(&api_path).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let w = &got["collision"];
    assert_eq!(w["owner_name"], json!("张伟"), "{got}");
    assert_eq!(w["match_kind"], json!("company"));
    assert!(w["owned_since"].is_string());
    assert_eq!(
        (w["protected_until"].clone(), w["deal"].clone()),
        (Value::Null, json!(false))
    );
    assert_eq!(w["last_calls"][0]["agent_name"], json!("张伟"));
    assert_eq!(w["last_calls"][0]["disposition"], json!("connected"));
    assert!(!got.to_string().contains("报价三万"), "no notes: {got}");
    assert!(
        !got.to_string().contains("星河李总"),
        "not the other record: {got}"
    );
    assert_eq!(w["case_id"], Value::Null);
    // The owner is not warned about their own customer; a lead one may not see is unknown.
    let (_, mine) = a1.get_json(&api_path).await;
    assert_eq!(mine["collision"], Value::Null, "{mine}");
    let (status, _) = b1
        .get_json(&format!("/api/v1/agent/leads/{owned}/collision"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The page: the warning above the phone numbers, with 提交撞单.
    let page = app.browser("agent_a2").await;
    let ws = format!("/workspace?lead={contact}");
    let (status, html) = page.get(&ws).await;
    assert_eq!(status, StatusCode::OK);
    let warning = html.find("id=\"collision-warning\"").expect("the warning");
    assert!(
        warning < html.find("id=\"ws-phones\"").unwrap(),
        "before the phones"
    );
    for shown in ["张伟", "同一公司", "未保护", "已接通", "collision-open"] {
        assert!(html[warning..].contains(shown), "{shown} in the warning");
    }
    assert!(!html.contains("报价三万"));
    // A lead of nobody else's customer shows no warning.
    let lone = admin
        .create_lead(json!({"name": "独立客户", "phones": [mobile(9713)], "pool": true}))
        .await["id"]
        .as_i64()
        .unwrap();
    let (_, html) = page.get(&format!("/workspace?lead={lone}")).await;
    assert!(!html.contains("collision-warning"));

    // 提交撞单 opens one case and shows it; the warning then links to it.
    let csrf = page.csrf(&ws).await;
    let lead_id = contact.to_string();
    for _ in 0..2 {
        let res = page
            .post_form(
                "/workspace/collision",
                &[("_csrf", &csrf), ("lead_id", &lead_id)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = res.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with("/collisions/"), "{to}");
    }
    assert_eq!(open_cases(&app.db).await, 1);
    let (_, got) = a2.get_json(&api_path).await;
    let case = got["collision"]["case_id"].as_i64().expect("the case");
    let (_, html) = page.get(&ws).await;
    assert!(html.contains(&format!("href=\"/collisions/{case}\"")));
    // Over the API too, still one case.
    let (status, opened) = post(&a2, &api_path, json!({})).await;
    assert_eq!(
        (status, opened["case_id"].as_i64()),
        (StatusCode::OK, Some(case))
    );
    let (_, none) = post(
        &a2,
        &format!("/api/v1/agent/leads/{lone}/collision"),
        json!({}),
    )
    .await;
    assert_eq!(none["case_id"], Value::Null);
    assert_eq!(open_cases(&app.db).await, 1);
}

/// Moves a lead's start of ownership back and recounts its countdown.
async fn owned_since(db: &Db, lead: i64, days_ago: i64) {
    execute(
        db,
        "UPDATE leads SET owned_since = $2 WHERE id = $1",
        vec![Arg::I64(lead), Arg::Time(now() - TimeDelta::days(days_ago))],
    )
    .await
    .unwrap();
    reclaim::recount(db, &[RuleScope::default()]).await.unwrap();
}

#[tokio::test]
async fn an_agent_sees_a_due_reclaim_warning_and_a_reclaim_in_the_workspace_once() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let warned = a1
        .create_lead(json!({"name": "快到期客户", "phones": [mobile(9721)]}))
        .await["id"]
        .as_i64()
        .unwrap();
    let gone = a1
        .create_lead(json!({"name": "过期客户", "phones": [mobile(9722)]}))
        .await["id"]
        .as_i64()
        .unwrap();
    owned_since(&app.db, warned, 12).await;
    owned_since(&app.db, gone, 16).await;
    let page = app.browser("agent_a1").await;
    let (_, html) = page.get("/workspace").await;
    assert!(!html.contains("ws-notices"), "nothing before the pass");
    let report = reclaim::run_pass(&app.db, now(), 500).await.unwrap();
    assert_eq!((report.warned, report.reclaimed), (1, 1));
    let (_, html) = page.get("/workspace").await;
    assert!(
        html.contains(&format!(
            "<a href=\"/leads/{warned}\">还剩 3 天将回收到公海：快到期客户</a>"
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<a href=\"/leads/{gone}\">过期客户 已回收到公海（规则：无有效跟进 15 天）</a>"
        )),
        "{html}"
    );
    // Shown once: read now, the next visit does not repeat them, nor does the event stream.
    let (_, html) = page.get("/workspace").await;
    assert!(!html.contains("还剩 3 天"));
    let waiting: i64 = db_run!(&app.db, |pool| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE delivered_at IS NULL AND kind IN ('reclaim_warning', 'reclaimed')"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    assert_eq!(waiting, 0);
    // A colleague does not see them.
    let (_, html) = app.browser("agent_a2").await.get("/workspace").await;
    assert!(!html.contains("快到期客户"));
}

/// The event stream words a reclaim warning for a workspace already open, and sends it once.
#[tokio::test]
async fn the_event_stream_words_a_reclaim_warning() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let lead = a1
        .create_lead(json!({"name": "推送到期客户", "phones": [mobile(9731)]}))
        .await["id"]
        .as_i64()
        .unwrap();
    owned_since(&app.db, lead, 12).await;
    reclaim::run_pass(&app.db, now(), 500).await.unwrap();
    let mut res = a1
        .http
        .get(format!("{}/api/v1/agent/events", a1.base))
        .bearer_auth(a1.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let notice: Value = loop {
        if let Some(at) = buf.find("event: reminder\ndata: ") {
            let rest = &buf[at + "event: reminder\ndata: ".len()..];
            if let Some(end) = rest.find('\n') {
                break serde_json::from_str(&rest[..end]).unwrap();
            }
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(30), res.chunk())
            .await
            .expect("the notice within the time limit")
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    };
    assert_eq!(notice["kind"], json!("reclaim_warning"));
    assert_eq!(notice["lead_id"], json!(lead));
    assert_eq!(notice["text"], json!("还剩 3 天将回收到公海：推送到期客户"));
    drop(res);
    // Delivered: the workspace page does not show it again.
    let (_, html) = app.browser("agent_a1").await.get("/workspace").await;
    assert!(!html.contains("推送到期客户"));
}
