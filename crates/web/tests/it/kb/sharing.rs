//! Sharing scripts: private until shared, and pinned by supervisors for their team.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{create_script, search};
use crate::helpers::{TestApp, mobile};

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
