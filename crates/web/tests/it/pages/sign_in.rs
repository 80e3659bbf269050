//! Signing in and out: the login page, throttling, where `next` may lead, and ending a session.

use reqwest::StatusCode;
use reqwest::header::COOKIE;

use super::html::{
    Form, attr, get_with_cookie, location, open_tag, plain_client, session_cookie, set_cookies,
    submit_login, text_of,
};
use super::lead_count;
use crate::helpers::{PASSWORD, TestApp};

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn the_login_page_is_chinese_and_a_wrong_password_gets_a_401_page_without_a_session() {
    let app = TestApp::spawn().await;
    let http = plain_client();
    let res = http.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"zh-CN\""), "{html}");
    assert!(html.contains("登录"));
    assert!(html.contains("用户名") && html.contains("密码"));

    let res = submit_login(&http, &app, "agent_a1", "wrong-password", "/leads").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        session_cookie(&res),
        None,
        "no session for a wrong password"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"zh-CN\""));
    assert_eq!(text_of(&html, "login-error"), "用户名或密码错误");
    // The username is kept, the password is not echoed back.
    assert_eq!(
        attr(open_tag(&html, "id=\"username\"").unwrap(), "value").as_deref(),
        Some("agent_a1")
    );
    assert!(!html.contains("wrong-password"));

    // An unknown user gets the same answer.
    let res = submit_login(&http, &app, "nobody", PASSWORD, "/leads").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(session_cookie(&res), None);
    assert_eq!(
        text_of(&res.text().await.unwrap(), "login-error"),
        "用户名或密码错误"
    );
}

#[tokio::test]
async fn after_five_failures_even_the_right_password_is_refused() {
    let app = TestApp::spawn().await;
    let http = plain_client();
    for i in 0..5 {
        let res = submit_login(&http, &app, "agent_a1", &format!("guess-{i}"), "/leads").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = submit_login(&http, &app, "agent_a1", PASSWORD, "/leads").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        session_cookie(&res),
        None,
        "a throttled sign-in opens no session"
    );
    let html = res.text().await.unwrap();
    assert_eq!(
        text_of(&html, "login-error"),
        "失败次数过多，请 15 分钟后再试"
    );
    // Another account is not locked out by these failures.
    let res = submit_login(&http, &app, "agent_a2", PASSWORD, "/leads").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_in_returns_to_the_next_page_with_a_http_only_lax_cookie() {
    let app = TestApp::spawn().await;
    let http = plain_client();
    let res = submit_login(&http, &app, "agent_a1", PASSWORD, "/leads/new").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/leads/new");
    let set = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("leadline_session="))
        .expect("a session cookie");
    let attrs: Vec<String> = set
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attrs.contains(&"httponly".to_string()), "{set}");
    assert!(attrs.contains(&"samesite=lax".to_string()), "{set}");
    assert!(attrs.contains(&"path=/".to_string()), "{set}");
    let cookie = session_cookie(&res).unwrap();
    let page = get_with_cookie(&app, &cookie, "/leads/new").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("张伟"));
}

#[tokio::test]
async fn a_next_that_leaves_the_site_goes_to_the_own_landing_page_instead() {
    let app = TestApp::spawn().await;
    for next in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "///evil.example/leads",
        "/\t/evil.example",
        "",
    ] {
        let http = plain_client();
        let res = submit_login(&http, &app, "agent_a1", PASSWORD, next).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "next={next:?}");
        assert_eq!(location(&res), "/", "next={next:?}");
        // The login page does not carry the foreign address into its form either.
        let res = http
            .get(app.url(&format!("/login?next={}", encode(next))))
            .send()
            .await
            .unwrap();
        let html = res.text().await.unwrap();
        let field = open_tag(&html, "name=\"next\"").unwrap();
        assert_eq!(attr(field, "value").as_deref(), Some("/"), "{next:?}");
    }
    // Nor does the language switch.
    let res = plain_client()
        .get(app.url("/lang/en?next=%2F%2Fevil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
}

#[tokio::test]
async fn a_next_with_a_line_break_is_refused_cleanly_rather_than_breaking_the_response() {
    let app = TestApp::spawn().await;
    let res = submit_login(
        &plain_client(),
        &app,
        "agent_a1",
        PASSWORD,
        "/leads\r\nSet-Cookie: planted=1",
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    assert!(!set_cookies(&res).iter().any(|c| c.starts_with("planted")));
    let res = plain_client()
        .get(app.url("/lang/en?next=/leads%0d%0aX-Planted:%201"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_login_and_come_back_afterwards() {
    let app = TestApp::spawn().await;
    let http = plain_client();
    let res = http.get(app.url("/leads?status=new")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert_eq!(to, "/login?next=%2Fleads%3Fstatus%3Dnew");
    let html = http
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let next = attr(open_tag(&html, "name=\"next\"").unwrap(), "value").unwrap();
    assert_eq!(next, "/leads?status=new");
    let res = submit_login(&http, &app, "agent_a1", PASSWORD, &next).await;
    assert_eq!(location(&res), "/leads?status=new");

    // Every page, not only the list.
    for path in ["/leads/new", "/admin/users", "/tokens", "/leads/1"] {
        let res = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&res).starts_with("/login?next="), "{path}");
    }
    // A signed-out form post stores nothing.
    let res = http
        .post(app.url("/leads"))
        .form(&[("name", "匿名"), ("phones", "13900000001")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login"));
    assert_eq!(lead_count(&app).await, 0);
}

#[tokio::test]
async fn signing_out_ends_the_session_for_the_old_cookie_too() {
    let app = TestApp::spawn().await;
    let res = submit_login(&plain_client(), &app, "agent_a1", PASSWORD, "/leads").await;
    let cookie = session_cookie(&res).expect("signed in");
    let res = get_with_cookie(&app, &cookie, "/leads").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let logout = Form::find(&html, "action=\"/logout\"");
    assert!(logout.get("_csrf").is_some_and(|t| t.len() == 64));

    // Without the form's token the session survives.
    let res = plain_client()
        .post(app.url("/logout"))
        .header(COOKIE, &cookie)
        .form(&[("_csrf", "0".repeat(64))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get_with_cookie(&app, &cookie, "/leads").await.status(),
        StatusCode::OK
    );

    let res = plain_client()
        .post(app.url("/logout"))
        .header(COOKIE, &cookie)
        .form(&logout.pairs())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("leadline_session=;") && c.contains("Max-Age=0")),
        "the cookie is cleared: {:?}",
        set_cookies(&res)
    );
    let res = get_with_cookie(&app, &cookie, "/leads").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the old cookie is dead"
    );
    assert!(location(&res).starts_with("/login?next="));
}
