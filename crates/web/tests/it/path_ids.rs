//! Typed ids in the path (issue 20, part 6): an id that is not a number answers the API's JSON
//! error (400 `bad_path`), or an error page on the pages, where axum's own `Path` answered
//! plain text.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, mobile};

#[tokio::test]
async fn a_path_id_that_is_not_a_number_answers_the_json_error() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let lead = admin
        .create_lead(json!({"name": "吴刚", "phone": mobile(2)}))
        .await;
    let (status, _) = admin
        .get_json(&format!("/api/v1/leads/{}", lead["id"]))
        .await;
    assert_eq!(status, StatusCode::OK, "a well-formed id still reads");

    for path in [
        "/api/v1/leads/abc",
        "/api/v1/leads/1.5/history",
        "/api/v1/scripts/x",
        "/api/v1/scripts/1/versions/two",
        "/api/v1/kb/articles/99999999999999999999999",
        "/api/v1/leads/-/calls",
    ] {
        let res = admin.get(path).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "bad_path", "{path}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty(), "{body}");
    }
    let res = admin
        .patch("/api/v1/users/me", json!({"active": false}))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "bad_path");

    let browser = app.browser("admin").await;
    let res = browser
        .http
        .get(app.url("/leads/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}
