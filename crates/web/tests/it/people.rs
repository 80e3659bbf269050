//! The people around a record through the API (issue 22): backup owners, absences and the
//! reminders they reroute, referrals, friends and family, hand-over, batch assignment.

use std::time::Duration;

use chrono::TimeDelta;
use leadline_domain::{LeadId, UserId};
use leadline_store::jobs::{self, REVISIT_REMINDER};
use leadline_store::now;
use leadline_store::workday::notifications;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

async fn put(api: &Api, path: &str, body: Value) -> Response {
    api.http
        .put(format!("{}{path}", api.base))
        .bearer_auth(api.token.clone().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn status_code(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn listed(api: &Api, id: i64) -> bool {
    let (status, page) = api.get_json("/api/v1/leads?limit=200").await;
    assert_eq!(status, StatusCode::OK);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == id)
}

#[tokio::test]
async fn a_backup_sees_the_lead_and_edits_only_when_granted_a_third_agent_sees_nothing() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let b1 = app.api("agent_b1").await;
    let sup_b = app.api("sup_b").await;
    let lead = a1
        .create_lead(json!({"name": "钱先生", "phone": mobile(8101)}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let path = format!("/api/v1/leads/{id}");
    let backup = format!("{path}/backup");
    assert!(!listed(&a2, id).await);

    // The owner names a colleague read-only.
    let (status, body) = status_code(
        put(
            &a1,
            &backup,
            json!({"user_id": app.org.agent_a2.0, "may_edit": false}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["backup_owner_id"], app.org.agent_a2.0);
    assert!(listed(&a2, id).await);
    assert_eq!(a2.get_json(&path).await.0, StatusCode::OK);
    let res = a2.patch(&path, json!({"title": "经理"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The backup may not rearrange; another team's supervisor and agent do not see it at all.
    assert_eq!(a2.delete(&backup).await.status(), StatusCode::FORBIDDEN);
    let res = put(&sup_b, &backup, json!({"user_id": app.org.agent_b1.0})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(b1.get_json(&path).await.0, StatusCode::NOT_FOUND);
    assert!(!listed(&b1, id).await);

    // The supervisor grants edits.
    let sup_a = app.api("sup_a").await;
    let res = put(
        &sup_a,
        &backup,
        json!({"user_id": app.org.agent_a2.0, "may_edit": true}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = a2.patch(&path, json!({"title": "经理"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The card shows the backup and the grant.
    let (_, card) = app
        .browser("agent_a2")
        .await
        .get(&format!("/leads/{id}"))
        .await;
    assert!(
        card.contains("id=\"lead-backup\">李娜 · 副负责人可编辑"),
        "{card}"
    );
    // Removed: the backup sees nothing again.
    assert_eq!(a1.delete(&backup).await.status(), StatusCode::OK);
    assert_eq!(a2.get_json(&path).await.0, StatusCode::NOT_FOUND);
    let (_, history) = a1.get_json(&format!("{path}/history")).await;
    assert!(history.to_string().contains("set_backup"), "{history}");
}

/// A revisit reminder due while its agent is on leave goes to the lead's backup, else to the
/// team's supervisor; the worker of the test server runs it.
#[tokio::test]
async fn an_absent_agents_revisit_reminders_go_to_the_backup_else_the_supervisor() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let sup_b = app.api("sup_b").await;
    // Leave for a colleague or another team: refused; one's own: recorded.
    let leave = json!({"user_id": app.org.agent_a1.0, "starts_at": now() - TimeDelta::hours(1),
        "ends_at": now() + TimeDelta::days(2), "reason": "病假"});
    assert_eq!(
        a2.post("/api/v1/absences", leave.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        sup_b.post("/api/v1/absences", leave.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    let (status, body) = status_code(a1.post("/api/v1/absences", leave).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bad = json!({"starts_at": now(), "ends_at": now() - TimeDelta::hours(1)});
    assert_eq!(
        a1.post("/api/v1/absences", bad).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let sup_a = app.api("sup_a").await;
    let (_, list) = sup_a.get_json("/api/v1/absences").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = sup_b.get_json("/api/v1/absences").await;
    assert!(list["items"].as_array().unwrap().is_empty());

    let with_backup = a1
        .create_lead(json!({"name": "回访甲", "phone": mobile(8201)}))
        .await;
    let without = a1
        .create_lead(json!({"name": "回访乙", "phone": mobile(8202)}))
        .await;
    let res = put(
        &a1,
        &format!("/api/v1/leads/{}/backup", with_backup["id"]),
        json!({"user_id": app.org.agent_a2.0}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut ids = Vec::new();
    for (n, lead) in [&with_backup, &without].into_iter().enumerate() {
        let lead_id = LeadId(lead["id"].as_i64().unwrap());
        ids.push(
            jobs::enqueue(
                &app.db,
                REVISIT_REMINDER,
                now() - TimeDelta::minutes(1),
                &json!({"lead_id": lead_id, "agent_id": app.org.agent_a1, "call_id": null}),
                Some(&format!("revisit:{}:people{n}", lead_id.0)),
            )
            .await
            .unwrap()
            .unwrap(),
        );
    }
    for _ in 0..300 {
        let mut done = true;
        for id in &ids {
            done &= jobs::status(&app.db, *id).await.unwrap().as_deref() == Some("done");
        }
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let of = |u: UserId| {
        let db = app.db.clone();
        async move { notifications::after(&db, u, 0).await.unwrap() }
    };
    let to_backup = of(app.org.agent_a2).await;
    assert_eq!(to_backup.len(), 1);
    assert_eq!(
        to_backup[0].lead_id,
        Some(LeadId(with_backup["id"].as_i64().unwrap()))
    );
    let to_sup = of(app.org.sup_a).await;
    assert_eq!(to_sup.len(), 1);
    assert_eq!(
        to_sup[0].lead_id,
        Some(LeadId(without["id"].as_i64().unwrap()))
    );
    assert!(of(app.org.agent_a1).await.is_empty());
}

#[tokio::test]
async fn a_referred_lead_goes_to_the_referrers_owner_by_phone_not_by_a_hidden_id() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let b1 = app.api("agent_b1").await;
    let old = a1
        .create_lead(json!({"name": "老客户", "phone": mobile(8301)}))
        .await;
    // b1 may not see a1's customer: its id is refused like a missing one.
    let res = b1
        .post(
            "/api/v1/leads",
            json!({"name": "新客户", "phone": mobile(8302), "referred_by": old["id"]}),
        )
        .await;
    let (status, body) = status_code(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["problems"][0]["code"], "referrer_not_found");
    // By the customer's phone: the new lead is a1's.
    let res = b1
        .post(
            "/api/v1/leads",
            json!({"name": "新客户", "phone": mobile(8302), "referred_by": mobile(8301)}),
        )
        .await;
    let (status, body) = status_code(res).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["owner_id"], app.org.agent_a1.0);
    assert_eq!(body["referred_by"], old["id"]);
    // Set later with PATCH: b1's lead moves to a1.
    let later = b1
        .create_lead(json!({"name": "介绍来的", "phone": mobile(8303)}))
        .await;
    let res = b1
        .patch(
            &format!("/api/v1/leads/{}", later["id"]),
            json!({"referred_by": mobile(8301)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, moved) = a1.get_json(&format!("/api/v1/leads/{}", later["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(moved["owner_id"], app.org.agent_a1.0);
    let (_, history) = a1
        .get_json(&format!("/api/v1/leads/{}/history", later["id"]))
        .await;
    assert!(history.to_string().contains("referral"), "{history}");
}

#[tokio::test]
async fn friends_and_family_are_the_reps_own_and_never_reclaimed() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let pooled = a1
        .create_lead(json!({"name": "表哥", "phone": mobile(8401), "pool": true}))
        .await;
    let path = format!("/api/v1/leads/{}/personal", pooled["id"]);
    let (status, body) = status_code(put(&a1, &path, json!({"personal": true})).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["owner_id"], app.org.agent_a1.0);
    assert_eq!(body["personal"], true);
    assert_eq!(body["reclaim_at"], Value::Null);
    // Someone else's: 404 for an agent who does not see it, 409 for a supervisor who does.
    assert_eq!(
        put(&a2, &path, json!({"personal": true})).await.status(),
        StatusCode::NOT_FOUND
    );
    let sup = app.api("sup_a").await;
    let (status, body) = status_code(put(&sup, &path, json!({"personal": true})).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "already_owned");
}

#[tokio::test]
async fn a_qualified_lead_is_handed_to_a_sales_rep_and_listed_both_ways() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let rep = app.api("sales1").await;
    let lead = a1
        .create_lead(json!({"name": "孙总", "phone": mobile(8501), "status": "qualified"}))
        .await;
    let path = format!("/api/v1/leads/{}/handover", lead["id"]);
    // To an agent: 422.
    let res = a1
        .post(&path, json!({"to_user_id": app.org.agent_a2.0}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Not seen by another team's agent: 404.
    let b1 = app.api("agent_b1").await;
    let res = b1.post(&path, json!({"to_user_id": app.org.sales.0})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = a1
        .post(
            &path,
            json!({"to_user_id": app.org.sales.0, "note": "要报价单"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, owned) = rep.get_json(&format!("/api/v1/leads/{}", lead["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(owned["owner_id"], app.org.sales.0);
    let (_, queue) = rep.get_json("/api/v1/handovers").await;
    assert_eq!(queue["direction"], "to_me");
    assert_eq!(queue["items"][0]["note"], "要报价单");
    assert_eq!(queue["items"][0]["from_name"], "张伟");
    let (_, mine) = a1.get_json("/api/v1/handovers?direction=from_me").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (_, team) = app.api("sup_a").await.get_json("/api/v1/handovers").await;
    assert_eq!(team["items"].as_array().unwrap().len(), 1);
    let (status, _) = a1.get_json("/api/v1/handovers?direction=team").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let notes = notifications::after(&app.db, app.org.sales, 0)
        .await
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, "handover");
}

#[tokio::test]
async fn supervisors_batch_assign_within_their_teams_and_hidden_leads_are_refused_by_id() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        let l = sup
            .create_lead(
                json!({"name": format!("公海{n}"), "phone": mobile(8600 + n), "pool": true}),
            )
            .await;
        ids.push(l["id"].as_i64().unwrap());
    }
    let hidden = app
        .api("agent_b1")
        .await
        .create_lead(json!({"name": "别组的", "phone": mobile(8650)}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut all = ids.clone();
    all.push(hidden);
    let (status, out) = status_code(
        sup.post(
            "/api/v1/leads/assign",
            json!({"lead_ids": all, "round_robin_team_id": app.org.team_a.0, "reason": "分配"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let to: Vec<i64> = out["assigned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["to_user_id"].as_i64().unwrap())
        .collect();
    let (a1, a2) = (app.org.agent_a1.0, app.org.agent_a2.0);
    assert_eq!(to, [a1, a2, a1, a2]);
    assert_eq!(
        out["refused"],
        json!([{"lead_id": hidden, "code": "not_found"}])
    );
    // Transfer one to a2.
    let (status, out) = status_code(
        sup.post(
            "/api/v1/leads/assign",
            json!({"lead_ids": [ids[0]], "to_user_id": a2}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["assigned"][0]["to_user_id"], a2);
    // Refusals: an agent; another team's person; another team's round robin; too many.
    let agent = app.api("agent_a1").await;
    let res = agent
        .post(
            "/api/v1/leads/assign",
            json!({"lead_ids": [ids[1]], "to_user_id": a1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = sup
        .post(
            "/api/v1/leads/assign",
            json!({"lead_ids": [ids[1]], "to_user_id": app.org.agent_b1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = sup
        .post(
            "/api/v1/leads/assign",
            json!({"lead_ids": [ids[1]], "round_robin_team_id": app.org.team_b.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let many: Vec<i64> = (1..=1001).collect();
    let res = sup
        .post(
            "/api/v1/leads/assign",
            json!({"lead_ids": many, "to_user_id": a1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, lead) = sup.get_json(&format!("/api/v1/leads/{}", ids[0])).await;
    assert_eq!(lead["owner_id"], a2);
    assert!(lead["reclaim_at"].is_string(), "{lead}");
}

/// The list page's batch form: a supervisor ticks leads, deals them over the team, and comes
/// back to the list with the outcome counted; agents get no form. The hand-over page lists a
/// rep's queue.
#[tokio::test]
async fn the_list_page_batch_assigns_and_the_handover_page_shows_the_queue() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let l = sup
            .create_lead(
                json!({"name": format!("页面{n}"), "phone": mobile(8700 + n), "pool": true}),
            )
            .await;
        ids.push(l["id"].as_i64().unwrap().to_string());
    }
    let page = app.browser("sup_a").await;
    let (status, html) = page.get("/leads").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"batch-assign\""));
    assert!(html.contains("class=\"batch-pick\""));
    let csrf = page.csrf("/leads").await;
    let team = app.org.team_a.0.to_string();
    let mut fields = vec![
        ("_csrf", csrf.as_str()),
        ("round_robin_team_id", team.as_str()),
        ("to_user_id", ""),
        ("back", "?q="),
    ];
    for id in &ids {
        fields.push(("lead_id", id.as_str()));
    }
    let res = page.post_form("/leads/assign", &fields).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/leads?q=&assigned=3"), "{to}");
    let (_, html) = page.get(&to).await;
    assert!(html.contains("id=\"batch-message\""), "{html}");
    assert!(html.contains("已分配 3 条"), "{html}");
    let (_, lead) = sup.get_json(&format!("/api/v1/leads/{}", ids[1])).await;
    assert_eq!(lead["owner_id"], app.org.agent_a2.0);

    let agent = app.browser("agent_a1").await;
    let (_, html) = agent.get("/leads").await;
    assert!(!html.contains("batch-assign"));

    let a1 = app.api("agent_a1").await;
    let res = a1
        .patch(
            &format!("/api/v1/leads/{}", ids[0]),
            json!({"status": "qualified"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = a1
        .post(
            &format!("/api/v1/leads/{}/handover", ids[0]),
            json!({"to_user_id": app.org.sales.0, "note": "请尽快联系"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, html) = app.browser("sales1").await.get("/handovers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("交接记录") && html.contains("请尽快联系") && html.contains("页面0"),
        "{html}"
    );
    let (status, html) = app
        .browser("sup_a")
        .await
        .get("/handovers?direction=team")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("请尽快联系"));
}
