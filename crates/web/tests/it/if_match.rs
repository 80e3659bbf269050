//! `If-Match` on the three versioned resources (issue 20, part 7: one reading of the header):
//! a stale version is 409 `edit_conflict` with the current one, the current one is accepted, in
//! each of its spellings, and a `version` in the body wins over the header.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

async fn patch_if_match(api: &Api, path: &str, if_match: &str, body: Value) -> (StatusCode, Value) {
    let res = api
        .http
        .patch(format!("{}{path}", api.base))
        .bearer_auth(api.token.as_deref().unwrap())
        .header("If-Match", if_match)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

/// On `path` (at version 1): stale versions conflict, the current one passes.
async fn check(api: &Api, path: &str, change: Value) {
    for stale in ["\"7\"", "W/\"7\"", "7"] {
        let (status, body) = patch_if_match(api, path, stale, change.clone()).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "{path} If-Match {stale}: {body}"
        );
        assert_eq!(body["code"], "edit_conflict");
        assert_eq!(body["details"]["current_version"], 1, "{body}");
    }
    let mut with_version = change.clone();
    with_version["version"] = json!(1);
    let (status, body) = patch_if_match(api, path, "\"7\"", with_version).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: the body's version wins: {body}"
    );
    let (status, body) = patch_if_match(api, path, "W/\"2\"", change).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(body["version"], 3);
}

#[tokio::test]
async fn if_match_guards_leads_scripts_and_articles_alike() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;

    let lead = admin
        .create_lead(json!({"name": "郑洁", "phone": mobile(3)}))
        .await;
    check(
        &admin,
        &format!("/api/v1/leads/{}", lead["id"]),
        json!({"company": "甲公司"}),
    )
    .await;

    let res = admin
        .post(
            "/api/v1/scripts",
            json!({"title": "开场白", "body": "您好"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let script: Value = res.json().await.unwrap();
    let path = format!("/api/v1/scripts/{}", script["id"]);
    // Each content change is a new version: change the body every time.
    for (i, stale) in ["\"7\"", "W/\"7\"", "7"].into_iter().enumerate() {
        let (status, _) =
            patch_if_match(&admin, &path, stale, json!({"body": format!("您好 {i}")})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    }
    let (status, body) = patch_if_match(&admin, &path, "\"1\"", json!({"body": "您好！"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);

    let res = admin
        .post(
            "/api/v1/kb/articles",
            json!({"title": "退款流程", "body": "一、"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let article: Value = res.json().await.unwrap();
    check(
        &admin,
        &format!("/api/v1/kb/articles/{}", article["id"]),
        json!({"body": "一、二、"}),
    )
    .await;
}
