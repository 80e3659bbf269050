//! CSRF on forms: a post needs the session's token and this site's origin.

use reqwest::header::ORIGIN;
use reqwest::{Response, StatusCode};
use serde_json::json;

use super::html::{Form, lead_id_from, location, text_of};
use super::lead_count;
use crate::helpers::{TestApp, mobile};

#[tokio::test]
async fn a_lead_form_post_needs_the_sessions_token_and_this_sites_origin() {
    let app = TestApp::spawn().await;
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get("/leads/new").await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    form.set("name", "孙悟空").set("phones", &mobile(1));
    assert_eq!(form.action, "/leads");
    let owner = app.org.agent_a1.0.to_string();
    assert_eq!(
        form.get("owner_id"),
        Some(owner.as_str()),
        "owner defaults to me"
    );

    let refused = |res: Response| async move {
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let html = res.text().await.unwrap();
        assert_eq!(
            text_of(&html, "error-message"),
            "表单已过期或来源不明，请刷新页面后重试"
        );
    };
    let mut missing = form.clone();
    missing.fields.retain(|(k, _)| k != "_csrf");
    refused(missing.submit(&a1).await).await;
    let mut wrong = form.clone();
    wrong.set("_csrf", &"f".repeat(64));
    refused(wrong.submit(&a1).await).await;
    // Another user's valid token is still wrong for this session.
    let a2 = app.browser("agent_a2").await;
    let mut borrowed = form.clone();
    borrowed.set("_csrf", &a2.csrf("/leads").await);
    refused(borrowed.submit(&a1).await).await;
    for (header, value) in [
        (ORIGIN.as_str(), "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = a1
            .http
            .post(app.url("/leads"))
            .header(header, value)
            .form(&form.pairs())
            .send()
            .await
            .unwrap();
        refused(res).await;
    }
    assert_eq!(lead_count(&app).await, 0, "nothing was stored");

    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = lead_id_from(&location(&res));
    let (status, lead) = app
        .api("agent_a1")
        .await
        .get_json(&format!("/api/v1/leads/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lead["name"], "孙悟空");
    assert_eq!(lead["owner_id"], json!(app.org.agent_a1.0));
    assert_eq!(lead_count(&app).await, 1);
    // Same-origin posts are fine.
    let res = a1
        .http
        .post(app.url("/leads"))
        .header(ORIGIN, app.base.as_str())
        .form(&form.set("name", "猪八戒").set("phones", &mobile(2)).pairs())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
