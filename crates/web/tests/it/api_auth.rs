//! Tokens, sessions, CSRF and throttling.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn a_token_is_issued_for_the_right_password_only() {
    let app = TestApp::spawn().await;
    let anon = app.anonymous();
    let res = anon
        .post(
            "/api/v1/auth/token",
            json!({"username": "agent_a1", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "invalid_credentials"
    );
    let res = anon
        .post(
            "/api/v1/auth/token",
            json!({"username": "agent_a1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(token.starts_with("ll_"));
}

#[tokio::test]
async fn api_calls_without_a_valid_token_are_refused() {
    let app = TestApp::spawn().await;
    let (status, body) = app.anonymous().get_json("/api/v1/leads").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthenticated");
    let mut forged = app.anonymous();
    forged.token = Some("ll_0000".into());
    assert_eq!(
        forged.get("/api/v1/leads").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn users_list_and_revoke_their_own_tokens_only() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let (_, tokens) = a1.get_json("/api/v1/auth/tokens").await;
    let items = tokens["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(
        items[0].get("token_hash").is_none(),
        "hashes are not exposed"
    );
    let id = items[0]["id"].as_i64().unwrap();
    // Another user cannot revoke it.
    assert_eq!(
        a2.delete(&format!("/api/v1/auth/tokens/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(a1.get("/api/v1/leads").await.status(), StatusCode::OK);
    assert_eq!(
        a1.delete(&format!("/api/v1/auth/tokens/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a1.get("/api/v1/leads").await.status(),
        StatusCode::UNAUTHORIZED,
        "a revoked token stops working"
    );
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    let anon = app.anonymous();
    for _ in 0..5 {
        let res = anon
            .post(
                "/api/v1/auth/token",
                json!({"username": "agent_b1", "password": "guess"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = anon
        .post(
            "/api/v1/auth/token",
            json!({"username": "agent_b1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "too_many_attempts"
    );
    // Other accounts are not locked by it.
    let res = anon
        .post(
            "/api/v1/auth/token",
            json!({"username": "agent_a1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_session_cookie_writes_through_the_api_only_with_the_csrf_header() {
    let app = TestApp::spawn().await;
    let browser = app.browser("agent_a1").await;
    let csrf = browser.csrf("/leads").await;
    let url = format!("{}/api/v1/leads", app.base);
    let body = json!({"name": "无令牌", "phone": "13900000001"});
    let res = browser.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "csrf_failed");
    let res = browser
        .http
        .post(&url)
        .header("x-csrf-token", &csrf)
        .header("origin", "http://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "a cross-site origin is refused even with the token"
    );
    let res = browser
        .http
        .post(&url)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn openapi_document_lists_the_lead_endpoints() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/leads",
        "/api/v1/leads/{id}",
        "/api/v1/auth/token",
        "/api/v1/leads/counts",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let res = app.anonymous().get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = app.anonymous().get("/metrics").await.text().await.unwrap();
    assert!(text.contains("leadline_http_requests_total{class=\"2xx\"}"));
    assert!(text.contains("leadline_leads 0"));
}
