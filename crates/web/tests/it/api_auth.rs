//! Tokens, sessions, CSRF and throttling; what every answer tells the browser, who may read
//! `/metrics`, and who may read the files the server keeps.

use std::net::{IpAddr, Ipv4Addr};

use leadline_store::auth::throttle::{ACCOUNT_MAX_FAILURES, MAX_FAILURES};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};

/// A client whose connections come from `127.0.0.<host>` (all of 127/8 is the loopback), so that
/// the server sees another address.
fn client_from(host: u8) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
        .build()
        .unwrap()
}

/// Asks for a token and returns the answer's status.
async fn token_status(app: &TestApp, http: &Client, username: &str, password: &str) -> StatusCode {
    http.post(app.url("/api/v1/auth/token"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

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

/// 60 wrong passwords sent at once for one account from one address: every attempt is counted
/// before its password is checked, so exactly the allowed number are checked (401) and the rest
/// are refused unchecked (429). Before, all 60 were checked.
#[tokio::test]
async fn parallel_wrong_passwords_cannot_outrun_the_throttle() {
    let app = TestApp::spawn().await;
    let http = client_from(1);
    let attempts = (0..60).map(|_| token_status(&app, &http, "agent_b1", "guess"));
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (checked, refused),
        (MAX_FAILURES as usize, 60 - MAX_FAILURES as usize),
        "{statuses:?}"
    );
    assert_eq!(
        token_status(&app, &http, "agent_b1", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A stranger's wrong passwords pause the stranger's address only: the owner, at the address they
/// signed in from before, still signs in; the guessing address stays paused after that; an admin
/// finds the lock-out on the admin page.
#[tokio::test]
async fn wrong_passwords_from_one_address_do_not_lock_the_owner_out() {
    let app = TestApp::spawn().await;
    let owner = client_from(1);
    let stranger = client_from(2);
    assert_eq!(
        token_status(&app, &owner, "agent_b1", PASSWORD).await,
        StatusCode::CREATED
    );
    for _ in 0..MAX_FAILURES {
        assert_eq!(
            token_status(&app, &stranger, "agent_b1", "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        token_status(&app, &stranger, "agent_b1", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing address is paused, even with the right password"
    );
    assert_eq!(
        token_status(&app, &owner, "agent_b1", PASSWORD).await,
        StatusCode::CREATED,
        "the owner still signs in at their usual address"
    );
    assert_eq!(
        token_status(&app, &stranger, "agent_b1", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the owner's sign-in does not reopen the guessing address"
    );
    // The admin is told: the lock-out is on the admin pages' list of changes, with the address.
    let admin = app.browser("admin").await;
    let (status, page) = admin.get("/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("登录受限"), "in words, not a code: {page}");
    let entries: Vec<(i64, Option<String>)> = match &app.db {
        leadline_store::Db::Sqlite(pool) => sqlx::query_as(
            "SELECT entity_id, json_extract(after, '$.client') FROM audit_log WHERE action = 'sign_in_throttled'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        leadline_store::Db::Postgres(pool) => sqlx::query_as(
            "SELECT entity_id, after->>'client' FROM audit_log WHERE action = 'sign_in_throttled'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    assert_eq!(
        entries,
        vec![(app.org.agent_b1.0, Some("127.0.0.2".to_string()))],
        "one entry, naming the account and the address"
    );
}

/// Guessing spread over many addresses stops at the account's cap: a new address is refused,
/// while an address the owner signed in from keeps its own budget.
#[tokio::test]
async fn guessing_from_many_addresses_is_capped_but_the_owners_address_is_not() {
    let app = TestApp::spawn().await;
    let owner = client_from(1);
    assert_eq!(
        token_status(&app, &owner, "agent_b1", PASSWORD).await,
        StatusCode::CREATED
    );
    let addresses = ACCOUNT_MAX_FAILURES / MAX_FAILURES;
    for host in 0..addresses {
        let stranger = client_from(10 + host as u8);
        for _ in 0..MAX_FAILURES {
            assert_eq!(
                token_status(&app, &stranger, "agent_b1", "guess").await,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    assert_eq!(
        token_status(&app, &client_from(200), "agent_b1", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a new address is refused once the account's cap is reached"
    );
    assert_eq!(
        token_status(&app, &owner, "agent_b1", PASSWORD).await,
        StatusCode::CREATED,
        "the owner's known address still signs in"
    );
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
async fn health_answers_anyone_and_metrics_only_an_admin_or_the_scraper() {
    let app = TestApp::spawn_with(|s| {
        s.metrics = std::sync::Arc::new(leadline_web::metrics::Metrics::with_scrape_token(
            "scrape-secret-1",
        ));
    })
    .await;
    let res = app.anonymous().get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = app.anonymous().get("/metrics").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("leadline_"),
        "no counters for anyone: {body}"
    );
    let metrics_with = |token: &str| {
        Client::new()
            .get(app.url("/metrics"))
            .bearer_auth(token)
            .send()
    };
    let res = metrics_with("scrape-secret-2").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a wrong token");
    let agent = app.api("agent_a1").await;
    assert_eq!(agent.get("/metrics").await.status(), StatusCode::FORBIDDEN);

    let res = metrics_with("scrape-secret-1").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains("leadline_http_requests_total{class=\"2xx\"}"));
    assert!(text.contains("leadline_leads 0"));
    let admin = app.api("admin").await;
    let res = admin.get("/metrics").await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "an admin needs no scrape token"
    );
}

/// Pages, API answers, errors and static files all carry the policy: only this server's scripts
/// and styles, no framing by other sites, no content sniffing, no address sent elsewhere.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let browser = app.browser("agent_a1").await;
    let answers = [
        ("login page", app.anonymous().get("/login").await),
        (
            "leads page",
            browser.http.get(app.url("/leads")).send().await.unwrap(),
        ),
        ("API answer", agent.get("/api/v1/me").await),
        ("API 401", app.anonymous().get("/api/v1/leads").await),
        ("API 404", agent.get("/api/v1/no-such-thing").await),
        ("page 404", app.anonymous().get("/no-such-page").await),
        ("script", app.anonymous().get("/static/forms.js").await),
    ];
    for (what, res) in answers {
        let h = res.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{what} ({}): no CSP", res.status()))
            .to_str()
            .unwrap();
        for directive in [
            "frame-ancestors 'none'",
            "script-src 'self'",
            "default-src 'self'",
        ] {
            assert!(csp.contains(directive), "{what}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["referrer-policy"], "same-origin", "{what}");
    }
}

/// The database file and its log, the upload directory and an uploaded file are the service
/// user's alone: nobody else on the machine may read leads or import files.
#[tokio::test]
async fn the_database_and_uploaded_files_are_readable_by_the_service_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = std::env::temp_dir()
        .join(format!(
            "leadline-modes-{}",
            &leadline_store::auth::random_secret()[..8]
        ))
        .join("uploads");
    let app = TestApp::spawn_with(|s| s.upload_dir = dir.clone()).await;
    if let leadline_store::Db::Sqlite(pool) = &app.db {
        let file = pool.connect_options().get_filename().to_path_buf();
        let wal = std::path::PathBuf::from(format!("{}-wal", file.display()));
        assert_eq!(
            (mode(&file), mode(&wal)),
            (0o600, 0o600),
            "{}",
            file.display()
        );
    }
    let sup = app.api("sup_a").await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes("姓名,电话\n王五,13800138000\n".as_bytes().to_vec())
            .file_name("list.csv"),
    );
    let res = sup
        .http
        .post(app.url("/api/v1/imports/preview"))
        .bearer_auth(sup.token.as_deref().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty(), "the upload's local copy is kept");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
