//! A floor's day without dead ends (issue 25), over the API: a closed lead keeps no revisit,
//! whichever way it was closed, and "skip this lead" gives the lead back and serves the next.

use chrono::TimeDelta;
use leadline_domain::LeadId;
use leadline_domain::next_call::CLOSED;
use leadline_store::now;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};
use crate::workspace::open_all_hours;

async fn lead(api: &Api, name: &str, n: u32) -> LeadId {
    let v = api
        .create_lead(json!({"name": name, "phones": [mobile(n)]}))
        .await;
    LeadId(v["id"].as_i64().unwrap())
}

async fn revisit_names(api: &Api) -> Vec<String> {
    let (_, today) = api.get_json("/api/v1/agent/today").await;
    today["revisits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

async fn overdue_names(app: &TestApp) -> Vec<String> {
    let (_, live) = app
        .api("sup_a")
        .await
        .get_json("/api/v1/supervisor/live")
        .await;
    live["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

async fn next_call(api: &Api, skip: Option<LeadId>) -> Option<Value> {
    let path = match skip {
        Some(id) => format!("/api/v1/agent/next-call?skip={id}"),
        None => "/api/v1/agent/next-call".to_string(),
    };
    let res = api.post(&path, json!({})).await;
    match res.status() {
        StatusCode::NO_CONTENT => None,
        StatusCode::OK => Some(res.json::<Value>().await.unwrap()),
        other => panic!("next-call answered {other}: {}", res.text().await.unwrap()),
    }
}

#[tokio::test]
async fn a_lead_qualified_by_a_call_with_a_revisit_set_by_hand_leaves_no_revisit_behind() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let won = lead(&agent, "合格客户", 2501).await;
    let open = lead(&agent, "待跟进客户", 2502).await;
    let at = now() + TimeDelta::hours(2);
    for (id, disposition) in [(won, "qualified"), (open, "connected")] {
        let res = agent
            .post(
                &format!("/api/v1/leads/{id}/calls"),
                json!({"disposition": disposition, "next_revisit_at": at.to_rfc3339()}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // The open lead keeps the revisit asked for; the qualified one keeps none.
    assert_eq!(revisit_names(&agent).await, vec!["待跟进客户"]);
    let (_, l) = agent.get_json(&format!("/api/v1/leads/{won}")).await;
    assert_eq!(l["status"], "qualified");
}

#[tokio::test]
async fn a_lead_closed_on_its_form_leaves_the_revisit_list_and_the_overdue_list() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let id = lead(&agent, "逾期合格", 2511).await;
    // What a call three hours ago left behind: a revisit now overdue.
    leadline_store::db_run!(&app.db, |pool| sqlx::query(
        "UPDATE leads SET next_revisit_at = $1, revisit_agent_id = $2 WHERE id = $3"
    )
    .bind(now() - TimeDelta::hours(3))
    .bind(app.org.agent_a1)
    .bind(id)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert_eq!(revisit_names(&agent).await, vec!["逾期合格"]);
    assert_eq!(overdue_names(&app).await, vec!["逾期合格"]);

    let (_, l) = agent.get_json(&format!("/api/v1/leads/{id}")).await;
    let res = agent
        .patch(
            &format!("/api/v1/leads/{id}"),
            json!({"status": "qualified", "version": l["version"]}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert!(revisit_names(&agent).await.is_empty());
    assert!(overdue_names(&app).await.is_empty());
}

/// Databases from before the fix: the migration clears the revisits closed leads kept, for
/// every status next call never serves.
#[test]
fn the_cleanup_migration_names_every_closed_status_on_both_backends() {
    for sql in [
        include_str!("../../../store/migrations/sqlite/0025_closed_leads_keep_no_revisit.sql"),
        include_str!("../../../store/migrations/postgres/0025_closed_leads_keep_no_revisit.sql"),
    ] {
        for status in CLOSED {
            assert!(sql.contains(&format!("'{}'", status.code())), "{status:?}");
        }
    }
}

#[tokio::test]
async fn skipping_a_lead_gives_it_back_and_serves_the_next_one() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let first = lead(&agent, "第一位", 2521).await;
    let second = lead(&agent, "第二位", 2522).await;
    let served = next_call(&agent, None).await.unwrap();
    assert_eq!(served["lead"]["id"], first.0);
    // Asking again without skipping keeps the held lead.
    assert_eq!(
        next_call(&agent, None).await.unwrap()["lead"]["id"],
        first.0
    );
    let served = next_call(&agent, Some(first)).await.unwrap();
    assert_eq!(served["lead"]["id"], second.0);
    // The skipped lead is reserved by nobody now.
    let held: Option<i64> = leadline_store::db_run!(&app.db, |pool| sqlx::query_scalar(
        "SELECT reserved_by FROM leads WHERE id = $1"
    )
    .bind(first)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(held, None);
    // Skipping that one too brings the queue round to the first again.
    let served = next_call(&agent, Some(second)).await.unwrap();
    assert_eq!(served["lead"]["id"], first.0);
    // A skip that is not a lead id is refused.
    let res = agent
        .post("/api/v1/agent/next-call?skip=abc", json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
