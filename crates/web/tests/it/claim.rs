//! Claiming (领取) and the pools over real HTTP (issue 22): 50 agents claiming the same 20 pool
//! leads at once, each 409 of the claim contract and the 404, the masked phone, release and
//! the ownership history, and a valid follow-up call that makes a pool lead the caller's.

use leadline_domain::{Role, UserId};
use leadline_store::auth::{self as store_auth, users};
use leadline_store::db_run;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::calls::{open_all_day, pool_lead};
use crate::helpers::{Api, TestApp, post, send};

/// An agent of team A with a bearer token made in the store (no password round).
async fn agent(app: &TestApp, n: usize) -> (UserId, Api) {
    let u = users::create_user(
        &app.db,
        &users::NewUser {
            username: format!("claimer{n}"),
            display_name: format!("坐席{n}"),
            role: Role::Agent,
            team_id: Some(app.org.team_a),
            password_hash: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    let (_, token) = store_auth::create_token(&app.db, u.id, "claim test")
        .await
        .unwrap();
    let api = Api {
        http: reqwest::Client::new(),
        base: app.base.clone(),
        token: Some(token),
    };
    (u.id, api)
}

async fn set_limits(admin: &Api, per_day: Option<i64>, held: Option<i64>) {
    let (status, body) = send(
        admin,
        reqwest::Method::PUT,
        "/api/v1/claim-limits",
        json!({"limits": [{"role": "agent", "per_day": per_day, "held_at_once": held}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The regulations' contract under contention: 50 agents, 20 pool leads, everyone at once,
/// each agent allowed 3 a day. Each lead ends with exactly one owner and one Claim event,
/// and nobody holds more than their cap; the losers hear 409 `already_owned` or `claim_limit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_agents_claiming_twenty_pool_leads_at_once_leave_each_lead_one_owner_within_the_caps()
{
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    set_limits(&admin, Some(3), None).await;
    let mut leads = Vec::new();
    for n in 0..20 {
        leads.push(pool_lead(&admin, &format!("公海{n}"), 7000 + n).await.0);
    }
    let mut agents = Vec::new();
    for n in 0..50 {
        agents.push(agent(&app, n).await);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(agents.len()));
    let mut tasks = Vec::new();
    for (i, (id, api)) in agents.into_iter().enumerate() {
        let (start, leads) = (start.clone(), leads.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut outcomes = Vec::new();
            // Each agent tries every lead, starting at a different one.
            for k in 0..leads.len() {
                let lead = leads[(i + k) % leads.len()];
                let (status, body) =
                    post(&api, &format!("/api/v1/leads/{lead}/claim"), json!({})).await;
                let code = body["code"].as_str().unwrap_or("").to_string();
                if status == StatusCode::OK {
                    assert_eq!(body["owner_id"], json!(id.0), "{body}");
                }
                outcomes.push((lead, status, code));
            }
            (id, outcomes)
        }));
    }
    let mut won: Vec<(i64, UserId)> = Vec::new();
    for t in tasks {
        let (id, outcomes) = t.await.unwrap();
        let mine = outcomes
            .iter()
            .filter(|(_, s, _)| *s == StatusCode::OK)
            .count();
        assert!(mine <= 3, "agent {id:?} claimed {mine}");
        for (lead, status, code) in outcomes {
            match status {
                StatusCode::OK => won.push((lead, id)),
                StatusCode::CONFLICT => {
                    assert!(code == "already_owned" || code == "claim_limit", "{code}")
                }
                other => panic!("unexpected {other} {code}"),
            }
        }
    }
    won.sort();
    let leads_won: Vec<i64> = won.iter().map(|(l, _)| *l).collect();
    let mut expected = leads.clone();
    expected.sort();
    assert_eq!(leads_won, expected, "every lead claimed exactly once");
    for (lead, id) in &won {
        let (_, body) = admin.get_json(&format!("/api/v1/leads/{lead}")).await;
        assert_eq!(body["owner_id"], json!(id.0));
        assert!(body["reclaim_at"].is_string(), "{body}");
    }
    let claims: i64 = db_run!(&app.db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM ownership_events WHERE action = 'claim'")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!(claims, 20);
}

#[tokio::test]
async fn each_refusal_of_the_claim_contract_has_its_code_and_a_hidden_lead_is_404() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    set_limits(&admin, Some(1), None).await;
    let first = pool_lead(&admin, "甲", 1).await.0;
    let second = pool_lead(&admin, "乙", 2).await.0;
    let (status, body) = post(&a1, &format!("/api/v1/leads/{first}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], json!(first));
    assert_eq!(body["owner_name"], json!("张伟"));
    // Claiming one's own lead again changes nothing.
    let (status, _) = post(&a1, &format!("/api/v1/leads/{first}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(&a2, &format!("/api/v1/leads/{first}/claim"), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_owned"))
    );
    let (status, body) = post(&a1, &format!("/api/v1/leads/{second}/claim"), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("claim_limit"))
    );
    assert_eq!(body["details"]["limit"], json!("per_day"));
    // A lead the agent never could see: 404, like one that does not exist.
    let own = a2
        .create_lead(json!({"name": "私有", "phones": ["13900000077"]}))
        .await["id"]
        .as_i64()
        .unwrap();
    for id in [own, 999_999] {
        let (status, body) = post(&a1, &format!("/api/v1/leads/{id}/claim"), json!({})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (status, _) = a1.get_json(&format!("/api/v1/leads/{id}/ownership")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // Released, the former owner waits out the cool-down (details.until); another may take it.
    set_limits(&admin, Some(10), None).await;
    let (status, body) = post(
        &a1,
        &format!("/api/v1/leads/{first}/release"),
        json!({"reason": "号码停机"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["owner_id"], Value::Null);
    let (status, body) = post(&a1, &format!("/api/v1/leads/{first}/claim"), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("cooldown"))
    );
    assert!(body["details"]["until"].is_string(), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("after"),
        "{body}"
    );
    // The held cap is a claim_limit too.
    set_limits(&admin, None, Some(0)).await;
    let (status, body) = post(&a2, &format!("/api/v1/leads/{second}/claim"), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("claim_limit"))
    );
    assert_eq!(body["details"]["limit"], json!("held_at_once"));
    // A release needs a reason, and only the owner's side may release.
    set_limits(&admin, Some(10), None).await;
    let (status, _) = post(&a2, &format!("/api/v1/leads/{second}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &a2,
        &format!("/api/v1/leads/{second}/release"),
        json!({"reason": " "}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
    );
    let (status, _) = post(
        &a1,
        &format!("/api/v1/leads/{second}/release"),
        json!({"reason": "抢"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn release_then_history_lists_the_claim_and_the_release_with_names_and_reason() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let a1 = app.api("agent_a1").await;
    let lead = pool_lead(&admin, "丙", 3).await.0;
    let (status, _) = post(&a1, &format!("/api/v1/leads/{lead}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &a1,
        &format!("/api/v1/leads/{lead}/release"),
        json!({"reason": "客户要求换人"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = a1
        .get_json(&format!("/api/v1/leads/{lead}/ownership"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events: Vec<(String, Value, Value, Value)> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "create")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["from_name"].clone(),
                e["to_name"].clone(),
                e["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("claim".to_string(), Value::Null, json!("张伟"), Value::Null),
            (
                "release".to_string(),
                json!("张伟"),
                Value::Null,
                json!("客户要求换人")
            ),
        ]
    );
    // The lead card shows the section; the pool page lists it again.
    let browser = app.browser("agent_a1").await;
    let (status, html) = browser.get(&format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("归属记录") && html.contains("客户要求换人"),
        "{html}"
    );
    let (status, html) = browser.get("/pools").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("data-lead=\"{lead}\"")), "{html}");
}

#[tokio::test]
async fn the_masked_phone_shows_to_agents_until_claimed_when_the_setting_is_on() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let a1 = app.api("agent_a1").await;
    let lead = admin
        .create_lead(json!({"name": "丁", "phones": ["13812345678"], "pool": true}))
        .await["id"]
        .as_i64()
        .unwrap();
    let phone = |v: &Value| v["phones"][0]["raw"].as_str().unwrap().to_string();
    let (_, body) = a1.get_json(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(phone(&body), "13812345678");
    let (status, _) = send(
        &a1,
        reqwest::Method::PUT,
        "/api/v1/pool-settings",
        json!({"mask_phone": true}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/pool-settings",
        json!({"mask_phone": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = a1.get_json(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(phone(&body), "138****5678");
    let (_, body) = a1.get_json("/api/v1/pools/leads").await;
    assert_eq!(body["leads"][0]["phone"], json!("138****5678"));
    // The lead list, its API and its page, hide the same digits: the number cannot be read
    // off another screen.
    let (_, body) = a1.get_json("/api/v1/leads?limit=200").await;
    let listed = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(lead))
        .expect("the pool lead is listed")
        .clone();
    assert_eq!(phone(&listed), "138****5678");
    assert_eq!(listed["phones"][0]["e164"], json!("+86138****5678"));
    let (_, html) = app.browser("agent_a1").await.get("/leads").await;
    assert!(html.contains("138****5678"), "{html}");
    assert!(!html.contains("13812345678"), "{html}");
    let (_, body) = admin.get_json(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(phone(&body), "13812345678");
    let (status, body) = post(&a1, &format!("/api/v1/leads/{lead}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(phone(&body), "13812345678");
    let (status, body) = a1.get_json("/api/v1/pools").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["mask_phone"], json!(true));
    assert_eq!(body["limits"]["claims_today"], json!(1));
    assert_eq!(body["limits"]["claims_left"], json!(29));
    // Off again: plain numbers.
    send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/pool-settings",
        json!({"mask_phone": false}),
    )
    .await;
    let other = pool_lead(&admin, "戊", 4).await.0;
    let (_, body) = a1.get_json(&format!("/api/v1/leads/{other}")).await;
    assert!(!phone(&body).contains('*'));
}

async fn record_call(api: &Api, lead: i64, disposition: &str) -> Value {
    let (status, body) = post(
        api,
        &format!("/api/v1/leads/{lead}/calls"),
        json!({"disposition": disposition, "duration_s": 60}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn events_of(app: &TestApp, lead: i64) -> Vec<(String, Option<String>)> {
    db_run!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT action, reason FROM ownership_events WHERE lead_id = $1 AND action <> 'create' ORDER BY id",
        )
        .bind(lead)
        .fetch_all(pool)
        .await
        .unwrap()
    })
}

#[tokio::test]
async fn a_valid_follow_up_call_on_a_pool_lead_makes_it_the_callers_and_an_ordinary_call_writes_no_event()
 {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    let a1 = app.api("agent_a1").await;
    let lead = pool_lead(&admin, "己", 5).await.0;
    // No answer is not a valid follow-up: still in the pool, no event.
    let body = record_call(&a1, lead, "no_answer").await;
    assert_eq!(body["claimed"], json!(false));
    let (_, l) = admin.get_json(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(l["owner_id"], Value::Null);
    assert_eq!(events_of(&app, lead).await, []);
    // Connected is: the lead is the caller's, with a Claim event and a 15-day countdown.
    let before = chrono::Utc::now();
    let body = record_call(&a1, lead, "connected").await;
    assert_eq!(body["claimed"], json!(true));
    let (_, l) = admin.get_json(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(l["owner_id"], json!(app.org.agent_a1.0));
    let due: chrono::DateTime<chrono::Utc> = l["reclaim_at"].as_str().unwrap().parse().unwrap();
    let days = (due - before).num_hours();
    assert!(
        (15 * 24..15 * 24 + 1).contains(&days),
        "{due} from {before}"
    );
    assert_eq!(
        events_of(&app, lead).await,
        [("claim".to_string(), Some("call".to_string()))]
    );
    // The claim counts for today's limit.
    let (_, pools) = a1.get_json("/api/v1/pools").await;
    assert_eq!(pools["limits"]["claims_today"], json!(1));
    // The owner's ordinary calls write no event, valid or not; the countdown stays 15 days.
    record_call(&a1, lead, "no_answer").await;
    record_call(&a1, lead, "call_back").await;
    assert_eq!(events_of(&app, lead).await.len(), 1);
    let (_, l) = admin.get_json(&format!("/api/v1/leads/{lead}")).await;
    let due2: chrono::DateTime<chrono::Utc> = l["reclaim_at"].as_str().unwrap().parse().unwrap();
    assert!(due2 >= due);
    let last_valid: Option<chrono::DateTime<chrono::Utc>> = db_run!(&app.db, |pool| {
        sqlx::query_scalar("SELECT last_valid_at FROM leads WHERE id = $1")
            .bind(lead)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert!(last_valid.is_some());
}

/// The pool page: 领取 by form stays on the page with the outcome in the caller's words.
#[tokio::test]
async fn the_pool_page_claims_by_form_and_shows_the_refusal_in_words() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let lead = pool_lead(&admin, "庚", 6).await.0;
    let a1 = app.browser("agent_a1").await;
    let a2 = app.browser("agent_a2").await;
    let (status, html) = a1.get("/pools").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("今日还可领取 30 条"), "{html}");
    let id = lead.to_string();
    let csrf = a1.csrf("/pools").await;
    let res = a1
        .post_form(
            "/pools/claim",
            &[("_csrf", &csrf), ("lead_id", &id), ("pool", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = a1.get(&to).await;
    assert!(
        html.contains("已领取：庚") && html.contains("今日还可领取 29 条"),
        "{html}"
    );
    let csrf = a2.csrf("/pools").await;
    let res = a2
        .post_form(
            "/pools/claim",
            &[("_csrf", &csrf), ("lead_id", &id), ("pool", "")],
        )
        .await;
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = a2.get(&to).await;
    assert!(html.contains("已被他人领取"), "{html}");
    // The owner releases it from the card, with a reason.
    let csrf = a1.csrf(&format!("/leads/{lead}")).await;
    let res = a1
        .post_form(
            &format!("/leads/{lead}/release"),
            &[("_csrf", &csrf), ("reason", "不是目标客户")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, body) = admin.get_json(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(body["owner_id"], Value::Null);
    // Within the hour, the former owner is cooling down.
    let csrf = a1.csrf("/pools").await;
    let res = a1
        .post_form(
            "/pools/claim",
            &[("_csrf", &csrf), ("lead_id", &id), ("pool", "")],
        )
        .await;
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = a1.get(&to).await;
    assert!(html.contains("冷却中，请于"), "{html}");
}

/// 老客户带来的新客户仍属于原销售人员: a pool lead naming a customer 张伟 owns goes to 张伟 when
/// 李娜 claims it; 李娜 hears 409 `already_owned` naming 张伟 (in both languages), and the lead
/// is 张伟's.
#[tokio::test]
async fn claiming_a_referred_pool_lead_gives_it_to_the_referrers_owner_and_says_so() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    // The old customer is in the pool when its referral is entered; 张伟 claims it later.
    let old = pool_lead(&admin, "老客户", 1).await.0;
    let referred = admin
        .create_lead(
            json!({"name": "新客户", "phones": ["13900000088"], "pool": true,
            "referred_by": old}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let (status, _) = post(&a1, &format!("/api/v1/leads/{old}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(&a2, &format!("/api/v1/leads/{referred}/claim"), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_owned")),
        "{body}"
    );
    assert_eq!(body["details"]["owner"]["name"], json!("张伟"), "{body}");
    assert_eq!(body["details"]["reason"], json!("referral"));
    assert!(
        body["message"].as_str().unwrap_or("").contains("张伟"),
        "{body}"
    );
    let owner: Option<i64> = db_run!(&app.db, |pool| sqlx::query_scalar(
        "SELECT owner_id FROM leads WHERE id = $1"
    )
    .bind(referred)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(owner, Some(app.org.agent_a1.0));
}
