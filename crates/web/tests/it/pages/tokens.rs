//! API tokens made on the page: shown once, revoked.

use reqwest::{Client, StatusCode};

use super::html::{Form, location, text_of};
use crate::helpers::{Api, TestApp};

#[tokio::test]
async fn a_token_is_shown_once_and_stops_working_when_revoked() {
    let app = TestApp::spawn().await;
    let a1 = app.browser("agent_a1").await;
    let (status, html) = a1.get("/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let res = Form::find(&html, "action=\"/tokens\"")
        .set("name", "外呼脚本")
        .submit(&a1)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let secret = text_of(&html, "new-token");
    assert!(secret.len() >= 32, "{secret}");
    let api = Api {
        http: Client::new(),
        base: app.base.clone(),
        token: Some(secret.clone()),
    };
    let (status, me) = api.get_json("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["username"], "agent_a1");

    // Shown once: the list no longer has it.
    let (_, html) = a1.get("/tokens").await;
    assert!(!html.contains(&secret));
    assert!(!html.contains("id=\"new-token\""));
    let tokens = text_of(&html, "tokens");
    assert!(
        tokens.contains("外呼脚本") && tokens.contains("有效"),
        "{tokens}"
    );
    // Another user does not see it.
    let (_, other) = app.browser("agent_a2").await.get("/tokens").await;
    assert!(!other.contains("外呼脚本"));

    let revoke = Form::find(&html, "action=\"/tokens/");
    assert!(revoke.action.ends_with("/revoke"), "{}", revoke.action);
    let res = revoke.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/tokens");
    let (_, html) = a1.get("/tokens").await;
    let tokens = text_of(&html, "tokens");
    assert!(
        tokens.contains("外呼脚本") && tokens.contains("已吊销"),
        "{tokens}"
    );
    assert!(
        !html.contains("/revoke\""),
        "no revoke button on a revoked token"
    );
    assert_eq!(
        api.get("/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.get("/api/v1/leads").await.status(),
        StatusCode::UNAUTHORIZED
    );
}
