//! Soft delete and restore: who may, and the history that records it.

use reqwest::StatusCode;
use serde_json::json;

use super::{id_of, listed, status_json};
use crate::helpers::{TestApp, mobile};

#[tokio::test]
async fn only_supervisors_and_admins_soft_delete_and_restore_and_history_records_it_all() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let sup_a = app.api("sup_a").await;
    let sup_b = app.api("sup_b").await;
    let admin = app.api("admin").await;
    let lead = a1
        .create_lead(json!({"name": "待删客户", "phone": mobile(300), "company": "旧公司"}))
        .await;
    let id = id_of(&lead);
    let path = format!("/api/v1/leads/{id}");
    let res = a1
        .patch(&path, json!({"company": "新公司", "version": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let (status, body) = status_json(a1.delete(&path).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an agent may not delete");
    assert_eq!(body["code"], "forbidden");
    assert_eq!(a1.get(&path).await.status(), StatusCode::OK, "still there");
    let pool = a1
        .create_lead(json!({"name": "公海", "phone": mobile(301), "pool": true}))
        .await;
    assert_eq!(
        a1.delete(&format!("/api/v1/leads/{}", pool["id"]))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "not even a pool lead"
    );
    assert_eq!(a2.delete(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        sup_b.delete(&path).await.status(),
        StatusCode::NOT_FOUND,
        "another team's supervisor does not see it"
    );
    let (_, before_counts) = sup_a.get_json("/api/v1/leads/counts").await;

    let (status, deleted) = status_json(sup_a.delete(&path).await).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(deleted["deleted_at"].is_string());

    let (status, body) = a1.get_json(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    assert!(!body.to_string().contains("待删客户"));
    assert_eq!(
        a1.get(&format!("{path}/history")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a1.patch(&path, json!({"company": "改不了"})).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(!listed(&a1, "").await.contains(&id));
    assert!(
        !listed(&a1, "deleted=true").await.contains(&id),
        "agents do not see the bin"
    );
    assert!(!listed(&sup_a, "").await.contains(&id));
    assert!(!listed(&admin, "").await.contains(&id));
    let (_, after_counts) = sup_a.get_json("/api/v1/leads/counts").await;
    assert_eq!(
        after_counts["total"].as_i64().unwrap(),
        before_counts["total"].as_i64().unwrap() - 1
    );
    assert_eq!(listed(&sup_a, "deleted=true").await, [id]);
    assert_eq!(listed(&admin, "deleted=true").await, [id]);
    assert!(listed(&sup_b, "deleted=true").await.is_empty());
    let (status, seen) = sup_a.get_json(&path).await;
    assert_eq!(status, StatusCode::OK, "the supervisor can inspect it");
    assert!(seen["deleted_at"].is_string());

    let res = a1.post(&format!("{path}/restore"), json!({})).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "an agent may not restore"
    );
    let res = sup_b.post(&format!("{path}/restore"), json!({})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (status, restored) =
        status_json(sup_a.post(&format!("{path}/restore"), json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert!(restored["deleted_at"].is_null());
    let (status, back) = a1.get_json(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(back["company"], "新公司", "restored with its data");
    assert!(listed(&a1, "").await.contains(&id));
    assert!(listed(&sup_a, "deleted=true").await.is_empty());

    let (status, history) = a1.get_json(&format!("{path}/history")).await;
    assert_eq!(status, StatusCode::OK);
    let changes = history["changes"].as_array().unwrap();
    let actions: Vec<&str> = changes
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update", "delete", "restore"]);
    let actors: Vec<&str> = changes
        .iter()
        .map(|c| c["actor_name"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["张伟", "张伟", "王主管", "王主管"]);
    assert_eq!(changes[0]["actor_id"], app.org.agent_a1.0);
    assert_eq!(changes[2]["actor_id"], app.org.sup_a.0);
    assert!(changes[0]["before"].is_null());
    assert_eq!(changes[0]["after"]["name"], "待删客户");
    assert_eq!(changes[0]["after"]["company"], "旧公司");
    assert_eq!(changes[1]["before"]["company"], "旧公司");
    assert_eq!(changes[1]["after"]["company"], "新公司");
    assert_eq!(changes[2]["before"]["deleted"], false);
    assert_eq!(changes[2]["after"]["deleted"], true);
    assert_eq!(changes[3]["before"]["deleted"], true);
    assert_eq!(changes[3]["after"]["deleted"], false);
    for c in changes {
        assert!(c["at"].is_string(), "every change has a time: {c}");
    }
}
