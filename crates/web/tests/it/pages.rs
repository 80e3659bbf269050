//! The server-rendered pages as a browser uses them: sign-in and its throttling, CSRF on forms,
//! the lead form with custom fields, edit conflicts, role refusals, the list with filters, counts
//! and saved views, the timeline, the language switch, time zones and API tokens.

use chrono::{DateTime, FixedOffset};
use leadline_store::auth::users::{self, UserPatch};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Api, Browser, PASSWORD, TestApp, mobile};

// ---------------------------------------------------------------------------------------------
// Reading responses and pages
// ---------------------------------------------------------------------------------------------

fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The session cookie a response sets, as `leadline_session=<value>`, if any (non-empty).
fn session_cookie(res: &Response) -> Option<String> {
    set_cookies(res)
        .into_iter()
        .filter_map(|c| c.split(';').next().map(str::to_string))
        .find(|c| c.starts_with("leadline_session=") && c.len() > "leadline_session=".len())
}

/// A browser without a cookie jar; cookies are sent by hand.
fn plain_client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn submit_login(
    http: &Client,
    app: &TestApp,
    username: &str,
    password: &str,
    next: &str,
) -> Response {
    http.post(app.url("/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

async fn get_with_cookie(app: &TestApp, cookie: &str, path: &str) -> Response {
    plain_client()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Decodes the character references askama and browsers use (`&amp;`, `&#38;`, `&#x27;`, …).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let code = match entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => entity.strip_prefix('#').and_then(|d| d.parse().ok()),
                    };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The visible text of some HTML, whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The opening tag (`<input ...>`) of the first element carrying `attr` (e.g. `name="cf.x"`).
fn open_tag<'a>(html: &'a str, attr: &str) -> Option<&'a str> {
    let at = html.find(attr)?;
    let open = html[..at].rfind('<')?;
    let close = at + html[at..].find('>')?;
    Some(&html[open..=close])
}

/// The inner HTML of the element with this id, up to the first closing tag of its kind.
fn by_id<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let tag = open_tag(html, &format!("id=\"{id}\""))?;
    let open = html.find(tag)?;
    let name: String = tag[1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let start = open + tag.len();
    let end = start + html[start..].find(&format!("</{name}>"))?;
    Some(&html[start..end])
}

fn text_of(html: &str, id: &str) -> String {
    text(by_id(html, id).unwrap_or_else(|| panic!("no #{id} in the page:\n{html}")))
}

/// An attribute's value in one tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// A boolean attribute (`required`, `checked`, `selected`) in one tag.
fn has_flag(tag: &str, flag: &str) -> bool {
    tag.trim_end_matches('>')
        .split_whitespace()
        .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
}

/// Every opening tag of one kind (`option`, `input`) in some HTML.
fn tags<'a>(html: &'a str, kind: &str) -> Vec<&'a str> {
    let open = format!("<{kind}");
    html.match_indices(&open)
        .filter(|(i, _)| {
            html[i + open.len()..].starts_with(|c: char| c.is_whitespace() || c == '>')
        })
        .map(|(i, _)| &html[i..=i + html[i..].find('>').unwrap()])
        .collect()
}

/// The names of the leads in the list table, in order.
fn lead_names(html: &str) -> Vec<String> {
    let marker = "class=\"lead-link\">";
    html.match_indices(marker)
        .map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            unescape(&rest[..rest.find("</a>").unwrap()])
        })
        .collect()
}

/// The group counts sidebar as (label, count) rows, the total row included.
fn group_counts(html: &str) -> Vec<(String, i64)> {
    let table = by_id(html, "group-counts").expect("a #group-counts table");
    table
        .split("<tr")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| text(&format!("<td{c}")))
                .collect();
            (
                cells[0].clone(),
                cells[1].parse().expect("a count is a number"),
            )
        })
        .collect()
}

/// A form on a page as a browser would submit it untouched.
#[derive(Debug, Clone)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

impl Form {
    /// The form containing `locator` (e.g. `id="lead-form"` or `action="/tokens"`).
    fn find(html: &str, locator: &str) -> Form {
        let at = html
            .find(locator)
            .unwrap_or_else(|| panic!("no form with {locator} in:\n{html}"));
        let start = html[..=at].rfind("<form").expect("inside a form");
        let end = at + html[at..].find("</form>").expect("a closed form");
        let body = &html[start..end];
        let head = &body[..=body.find('>').unwrap()];
        let mut fields = Vec::new();
        let mut rest = &body[head.len()..];
        while let Some(i) = rest.find('<') {
            rest = &rest[i..];
            let tag_end = rest.find('>').unwrap();
            let tag = &rest[..=tag_end];
            let kind: String = tag[1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let name = attr(tag, "name");
            match (kind.as_str(), name) {
                ("input", Some(name)) => {
                    let ty = attr(tag, "type").unwrap_or_else(|| "text".into());
                    let value = attr(tag, "value");
                    match ty.as_str() {
                        "checkbox" | "radio" => {
                            if has_flag(tag, "checked") {
                                fields.push((name, value.unwrap_or_else(|| "on".into())));
                            }
                        }
                        "submit" | "button" => {}
                        _ => fields.push((name, value.unwrap_or_default())),
                    }
                }
                ("textarea", Some(name)) => {
                    let inner = &rest[tag.len()..];
                    let content = &inner[..inner.find("</textarea>").unwrap()];
                    fields.push((name, unescape(content)));
                }
                ("select", Some(name)) => {
                    let inner = &rest[tag.len()..];
                    let options = &inner[..inner.find("</select>").unwrap()];
                    let tags: Vec<&str> = options
                        .match_indices("<option")
                        .map(|(j, _)| &options[j..=j + options[j..].find('>').unwrap()])
                        .collect();
                    let chosen = tags
                        .iter()
                        .find(|t| has_flag(t, "selected"))
                        .or(tags.first());
                    if let Some(t) = chosen {
                        fields.push((name, attr(t, "value").unwrap_or_default()));
                    }
                }
                _ => {}
            }
            rest = &rest[tag_end + 1..];
        }
        Form {
            action: attr(head, "action").expect("a form action"),
            fields,
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a field to one value, replacing whatever the page had.
    fn set(&mut self, name: &str, value: &str) -> &mut Form {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.into(), value.into()));
        self
    }

    /// Adds one more value (a further checked box).
    fn add(&mut self, name: &str, value: &str) -> &mut Form {
        self.fields.push((name.into(), value.into()));
        self
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    async fn submit(&self, browser: &Browser) -> Response {
        browser.post_form(&self.action, &self.pairs()).await
    }
}

/// The id at the end of a `/leads/{id}` redirect.
fn lead_id_from(location: &str) -> i64 {
    location
        .strip_prefix("/leads/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a lead page: {location:?}"))
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
}

/// Chinese characters left in `html` once the given data strings are removed.
fn chinese_besides(html: &str, data: &[&str]) -> String {
    let mut rest = unescape(html);
    let mut data = data.to_vec();
    data.sort_by_key(|d| std::cmp::Reverse(d.len()));
    for d in data {
        rest = rest.replace(d, "");
    }
    rest.chars().filter(|c| is_cjk(*c)).collect()
}

/// Places where the catalogue's missing-translation marker `?` stands alone as an element's text
/// or an attribute's value.
fn lone_question_marks(html: &str) -> Vec<String> {
    let mut found: Vec<String> = html
        .split('<')
        .filter_map(|piece| {
            let (tag, after) = piece.split_once('>')?;
            (after.trim() == "?").then(|| format!("<{tag}>?"))
        })
        .collect();
    found.extend(html.match_indices("=\"?\"").map(|(i, _)| {
        let from = html[..i].rfind('<').unwrap_or(0);
        html[from..i + 4].to_string()
    }));
    found
}

async fn lead_count(app: &TestApp) -> usize {
    let (_, list) = app
        .api("admin")
        .await
        .get_json("/api/v1/leads?limit=200")
        .await;
    list["items"].as_array().unwrap().len()
}

async fn create_fields(app: &TestApp, fields: &[Value]) {
    let admin = app.api("admin").await;
    for f in fields {
        let res = admin.post("/api/v1/custom-fields", f.clone()).await;
        assert_eq!(res.status(), StatusCode::CREATED, "creating field {f}");
    }
}

fn the_fields() -> Vec<Value> {
    vec![
        json!({"key": "level", "label_zh": "客户等级", "label_en": "Customer level", "kind": "select",
            "required": true, "options": ["A", "B", "C"]}),
        json!({"key": "products", "label_zh": "关注产品", "label_en": "Products of interest",
            "kind": "multi_select", "options": ["CRM", "呼叫中心", "短信"]}),
        json!({"key": "visit_date", "label_zh": "拜访日期", "label_en": "Visit date", "kind": "date"}),
        json!({"key": "budget", "label_zh": "预算", "label_en": "Budget", "kind": "number"}),
        json!({"key": "contact_email", "label_zh": "联系邮箱", "label_en": "Contact e-mail",
            "kind": "email"}),
    ]
}

// ---------------------------------------------------------------------------------------------
// Signing in and out
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// CSRF on forms
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The lead form
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn custom_fields_are_rendered_as_controls_of_their_type() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let a1 = app.browser("agent_a1").await;
    let (status, html) = a1.get("/leads/new").await;
    assert_eq!(status, StatusCode::OK);
    let form = by_id(&html, "lead-form").unwrap();

    let level = open_tag(form, "name=\"cf.level\"").unwrap();
    assert!(level.starts_with("<select"), "{level}");
    assert!(has_flag(level, "required"), "a required field: {level}");
    let options: Vec<String> = tags(by_id(form, "cf-level").unwrap(), "option")
        .into_iter()
        .map(|t| attr(t, "value").unwrap())
        .collect();
    assert_eq!(options, ["", "A", "B", "C"]);
    assert!(text(form).contains("客户等级 *"));

    let boxes: Vec<&str> = tags(form, "input")
        .into_iter()
        .filter(|t| attr(t, "name").as_deref() == Some("cf.products"))
        .collect();
    assert_eq!(boxes.len(), 3, "one box per option");
    for (tag, option) in boxes.iter().zip(["CRM", "呼叫中心", "短信"]) {
        assert_eq!(attr(tag, "type").as_deref(), Some("checkbox"), "{tag}");
        assert_eq!(attr(tag, "value").as_deref(), Some(option));
        assert!(!has_flag(tag, "required"));
    }
    for (key, ty) in [
        ("visit_date", "date"),
        ("budget", "number"),
        ("contact_email", "email"),
    ] {
        let tag = open_tag(form, &format!("name=\"cf.{key}\"")).unwrap();
        assert!(tag.starts_with("<input"), "{tag}");
        assert_eq!(attr(tag, "type").as_deref(), Some(ty), "{key}: {tag}");
        assert!(!has_flag(tag, "required"), "{key} is optional: {tag}");
    }
    // A required text field gets the attribute too.
    create_fields(
        &app,
        &[json!({"key": "wechat", "label_zh": "微信号", "kind": "text", "required": true})],
    )
    .await;
    let (_, html) = a1.get("/leads/new").await;
    let tag = open_tag(&html, "name=\"cf.wechat\"").unwrap();
    assert!(has_flag(tag, "required"), "{tag}");
}

#[tokio::test]
async fn a_bad_value_redisplays_the_form_with_422_naming_the_field_and_keeping_the_input() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get("/leads/new").await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    form.set("name", "钱多多")
        .set("phones", &mobile(7))
        .set("company", "保留有限公司")
        .set("cf.level", "B")
        .set("cf.budget", "很多")
        .set("cf.contact_email", "qian@")
        .set("cf.visit_date", "2026-02-30")
        .add("cf.products", "短信");
    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    let error = text_of(&html, "form-error");
    assert!(error.starts_with("输入有误："), "{error}");
    for part in [
        "预算: 不是数字",
        "联系邮箱: 不是有效的邮箱",
        "拜访日期: 日期格式应为 2026-01-31",
    ] {
        assert!(error.contains(part), "{part:?} in {error:?}");
    }
    assert!(
        !error.contains("budget") && !error.contains("contact_email"),
        "{error}"
    );
    // What was typed is still there.
    let kept = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(kept.get("name"), Some("钱多多"));
    assert_eq!(kept.get("phones"), Some(mobile(7).as_str()));
    assert_eq!(kept.get("company"), Some("保留有限公司"));
    assert_eq!(kept.get("cf.level"), Some("B"));
    assert_eq!(kept.get("cf.budget"), Some("很多"));
    assert_eq!(kept.get("cf.contact_email"), Some("qian@"));
    assert_eq!(kept.get("cf.visit_date"), Some("2026-02-30"));
    assert_eq!(kept.get("cf.products"), Some("短信"));
    assert!(kept.get("_csrf").is_some_and(|t| t.len() == 64));
    // The bad fields are marked.
    let budget_label = &html[..html.find("name=\"cf.budget\"").unwrap()];
    let label_tag = &budget_label[budget_label.rfind("<label").unwrap()..];
    assert!(
        label_tag.starts_with("<label class=\"bad\">"),
        "{label_tag}"
    );
    assert_eq!(lead_count(&app).await, 0);

    // A required select left empty is named too.
    let mut empty = kept.clone();
    empty
        .set("cf.level", "")
        .set("cf.budget", "12,000")
        .set("cf.contact_email", "Qian@Example.com")
        .set("cf.visit_date", "2026-02-28");
    let res = empty.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = text_of(&res.text().await.unwrap(), "form-error");
    assert!(error.contains("客户等级: 必填"), "{error}");

    // Corrected, the same form saves.
    let res = empty.set("cf.level", "B").submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = lead_id_from(&location(&res));
    let (_, lead) = app
        .api("agent_a1")
        .await
        .get_json(&format!("/api/v1/leads/{id}"))
        .await;
    assert_eq!(lead["company"], "保留有限公司");
    assert_eq!(lead["custom"]["budget"], json!(12000));
    assert_eq!(lead["custom"]["contact_email"], "qian@example.com");
    assert_eq!(lead["custom"]["level"], "B");
}

#[tokio::test]
async fn the_bad_value_message_uses_the_english_label_in_english() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let a1 = app.browser("agent_a1").await;
    a1.get("/lang/en?next=/leads").await;
    let (_, html) = a1.get("/leads/new").await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    form.set("name", "Qian")
        .set("cf.level", "A")
        .set("cf.budget", "lots");
    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = text_of(&res.text().await.unwrap(), "form-error");
    assert!(error.contains("Budget: is not a number"), "{error}");
}

#[tokio::test]
async fn checked_multi_select_boxes_are_stored_as_a_list() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get("/leads/new").await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(form.get("cf.products"), None, "no box is checked at first");
    form.set("name", "周多选")
        .set("phones", &mobile(3))
        .set("cf.level", "A")
        .add("cf.products", "CRM")
        .add("cf.products", "短信");
    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = lead_id_from(&location(&res));
    let api = app.api("agent_a1").await;
    let (_, lead) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(lead["custom"]["products"], json!(["CRM", "短信"]));

    let (_, html) = a1.get(&format!("/leads/{id}")).await;
    assert!(
        html.contains("<dd class=\"custom\">CRM, 短信</dd>"),
        "{html}"
    );
    let (_, html) = a1.get(&format!("/leads/{id}/edit")).await;
    let edit = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(
        edit.fields
            .iter()
            .filter(|(k, _)| k == "cf.products")
            .count(),
        2
    );
    let checked: Vec<&str> = edit
        .fields
        .iter()
        .filter(|(k, _)| k == "cf.products")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(checked, ["CRM", "短信"]);

    // Unticking everything clears the field.
    let mut none = edit.clone();
    none.fields.retain(|(k, _)| k != "cf.products");
    let res = none.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, lead) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert!(
        lead["custom"].get("products").is_none_or(Value::is_null),
        "{}",
        lead["custom"]
    );
}

#[tokio::test]
async fn submitting_a_stale_edit_form_is_a_409_and_keeps_the_other_change() {
    let app = TestApp::spawn().await;
    let api = app.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "吴冲突", "phone": mobile(11), "company": "原公司"}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get(&format!("/leads/{id}/edit")).await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(form.get("version"), Some("1"));
    assert_eq!(form.action, format!("/leads/{id}"));

    let res = api
        .patch(
            &format!("/api/v1/leads/{id}"),
            json!({"company": "接口改的公司", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = form.set("company", "表单改的公司").submit(&a1).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("该记录已被他人修改，请刷新后再改（您的修改未保存）"),
        "{html}"
    );
    let (_, now) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(now["company"], "接口改的公司");
    assert_eq!(now["version"], 2);

    // Reloading the form picks up the new version and then saves.
    let (_, html) = a1.get(&format!("/leads/{id}/edit")).await;
    let mut fresh = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(fresh.get("version"), Some("2"));
    assert_eq!(fresh.get("company"), Some("接口改的公司"));
    let res = fresh.set("company", "表单改的公司").submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, now) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(now["company"], "表单改的公司");
    assert_eq!(now["version"], 3);
}

// ---------------------------------------------------------------------------------------------
// Roles on pages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_agent_can_neither_see_nor_change_another_agents_lead() {
    let app = TestApp::spawn().await;
    let b1_api = app.api("agent_b1").await;
    let lead = b1_api
        .create_lead(json!({"name": "赵秘密客户", "phone": mobile(21), "company": "机密公司"}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let a1 = app.browser("agent_a1").await;

    for path in [format!("/leads/{id}"), format!("/leads/{id}/edit")] {
        let (status, html) = a1.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(text_of(&html, "error-message"), "找不到该记录");
        assert!(!html.contains("赵秘密客户") && !html.contains("机密公司"));
    }
    let (_, list) = a1.get("/leads").await;
    assert!(!list.contains("赵秘密客户"));

    let csrf = a1.csrf("/leads").await;
    let res = a1
        .post_form(
            &format!("/leads/{id}"),
            &[
                ("_csrf", csrf.as_str()),
                ("version", "1"),
                ("name", "被改了"),
                ("phones", &mobile(21)),
                ("owner_id", &app.org.agent_a1.0.to_string()),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "a change is refused as the page is: the lead's existence is not revealed"
    );
    let html = res.text().await.unwrap();
    assert_eq!(text_of(&html, "error-message"), "找不到该记录");
    assert!(!html.contains("赵秘密客户"));
    let (_, now) = b1_api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(now["name"], "赵秘密客户");
    assert_eq!(now["version"], 1);
    assert_eq!(now["owner_id"], json!(app.org.agent_b1.0));
}

#[tokio::test]
async fn admin_pages_are_closed_to_agents_and_read_only_for_supervisors() {
    let app = TestApp::spawn().await;
    let a1 = app.browser("agent_a1").await;
    let (_, home) = a1.get("/leads").await;
    assert!(
        !home.contains("href=\"/admin/"),
        "no admin links for an agent"
    );
    for path in ["/admin/fields", "/admin/users", "/admin/teams"] {
        let (status, html) = a1.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(text_of(&html, "error-message"), "您没有权限执行此操作");
        assert!(!html.contains("agent_b1"), "{path} lists no users");
    }

    let sup = app.browser("sup_a").await;
    let (status, html) = sup.get("/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("agent_b1") && html.contains("赵磊"),
        "users are listed"
    );
    assert!(!html.contains("id=\"user-form\""), "no add-user form");
    assert!(
        !html.contains("action=\"/admin/users"),
        "no user forms at all"
    );
    let (status, html) = sup.get("/admin/teams").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("电销一组"));
    assert!(!html.contains("id=\"team-form\""));
    let (status, _) = sup.get("/admin/fields").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Posting the admin form by hand is refused too.
    let csrf = sup.csrf("/leads").await;
    let res = sup
        .post_form(
            "/admin/users",
            &[
                ("_csrf", csrf.as_str()),
                ("username", "sneaky"),
                ("display_name", "偷偷加的"),
                ("role", "admin"),
                ("password", "long-enough-1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, html) = app.browser("admin").await.get("/admin/users").await;
    assert!(!html.contains("sneaky"));
}

#[tokio::test]
async fn an_admin_adds_a_user_through_the_form_and_that_user_can_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.browser("admin").await;
    let (status, html) = admin.get("/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    let mut form = Form::find(&html, "id=\"user-form\"");
    assert_eq!(form.action, "/admin/users");
    form.set("username", "new_agent")
        .set("display_name", "孙新人")
        .set("role", "agent")
        .set("team_id", &app.org.team_a.0.to_string())
        .set("password", "short");
    // Too short a password is refused on the page, naming the problem.
    let res = form.submit(&admin).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(text_of(&html, "form-error").contains("至少 8 个字符"));

    let res = form.set("password", "welcome-2026").submit(&admin).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/users");
    let (_, html) = admin.get("/admin/users").await;
    let users = text_of(&html, "users");
    assert!(
        users.contains("new_agent 孙新人 电话营销员 电销一组 是"),
        "{users}"
    );

    let res = submit_login(&plain_client(), &app, "new_agent", "welcome-2026", "/leads").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&res).unwrap();
    let html = get_with_cookie(&app, &cookie, "/leads")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("孙新人 · 电话营销员"), "{html}");
}

#[tokio::test]
async fn only_managers_delete_and_restore_a_lead_from_its_page() {
    let app = TestApp::spawn().await;
    let api = app.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "周删除", "phone": mobile(31)}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let path = format!("/leads/{id}");

    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get(&path).await;
    assert!(
        !html.contains("id=\"delete-lead\""),
        "no delete button for agents"
    );
    let csrf = a1.csrf(&path).await;
    let res = a1
        .post_form(&format!("{path}/delete"), &[("_csrf", csrf.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        text_of(&res.text().await.unwrap(), "error-message"),
        "您没有权限执行此操作"
    );
    assert_eq!(
        api.get(&format!("/api/v1/leads/{id}")).await.status(),
        StatusCode::OK
    );

    // A supervisor of another team does not even find it.
    let sup_b = app.browser("sup_b").await;
    let csrf = sup_b.csrf("/leads").await;
    let res = sup_b
        .post_form(&format!("{path}/delete"), &[("_csrf", csrf.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let sup = app.browser("sup_a").await;
    let (_, html) = sup.get(&path).await;
    assert!(!html.contains("id=\"deleted-banner\""));
    let res = Form::find(&html, "id=\"delete-lead\"").submit(&sup).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), path);
    let (status, html) = sup.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text_of(&html, "deleted-banner"),
        "该线索已删除，可由主管恢复。"
    );
    assert!(!html.contains("id=\"delete-lead\"") && !html.contains("id=\"edit-lead\""));
    assert_eq!(
        api.get(&format!("/api/v1/leads/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, _) = a1.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!a1.get("/leads").await.1.contains("周删除"));
    // The supervisor finds it among the deleted ones.
    let (_, html) = sup.get("/leads?deleted=true").await;
    assert_eq!(lead_names(&html), ["周删除"]);

    let res = Form::find(&html_of(&sup, &path).await, "id=\"restore-lead\"")
        .submit(&sup)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = sup.get(&path).await;
    assert!(!html.contains("id=\"deleted-banner\""));
    assert!(html.contains("id=\"delete-lead\""));
    assert_eq!(
        api.get(&format!("/api/v1/leads/{id}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(lead_names(&a1.get("/leads").await.1), ["周删除"]);
    let timeline = text_of(&html, "timeline");
    assert!(
        timeline.contains("王主管 恢复") && timeline.contains("王主管 删除"),
        "{timeline}"
    );
}

async fn html_of(browser: &Browser, path: &str) -> String {
    let (status, html) = browser.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    html
}

// ---------------------------------------------------------------------------------------------
// The list: filters, counts, saved views
// ---------------------------------------------------------------------------------------------

async fn list_fixture(app: &TestApp) -> Api {
    let api = app.api("agent_a1").await;
    for (n, (name, status, city)) in [
        ("王小明", "new", "北京"),
        ("王大锤", "contacted", "上海"),
        ("李四", "contacted", "北京"),
        ("张三丰", "new", "广州"),
    ]
    .into_iter()
    .enumerate()
    {
        api.create_lead(json!({"name": name, "phone": mobile(100 + n as u32),
            "status": status, "city": city}))
            .await;
    }
    api
}

#[tokio::test]
async fn filters_in_the_address_narrow_the_table_and_the_counts() {
    let app = TestApp::spawn().await;
    list_fixture(&app).await;
    let a1 = app.browser("agent_a1").await;

    let (status, html) = a1.get("/leads").await;
    assert_eq!(status, StatusCode::OK);
    let mut all = lead_names(&html);
    all.sort();
    assert_eq!(all, ["张三丰", "李四", "王大锤", "王小明"]);
    let mut counts = group_counts(&html);
    counts.sort();
    assert_eq!(
        counts,
        [
            ("共".to_string(), 4),
            ("已联系".to_string(), 2),
            ("新线索".to_string(), 2)
        ]
    );

    let (_, html) = a1.get("/leads?status=new").await;
    let mut names = lead_names(&html);
    names.sort();
    assert_eq!(names, ["张三丰", "王小明"]);
    assert_eq!(
        group_counts(&html),
        [("新线索".to_string(), 2), ("共".to_string(), 2)]
    );
    // The filter control shows what is applied.
    let status_select = by_id(&html, "f-status").unwrap();
    let selected = open_tag(status_select, " selected").unwrap();
    assert_eq!(attr(selected, "value").as_deref(), Some("new"));

    let (_, html) = a1.get("/leads?q=%E7%8E%8B").await;
    let mut names = lead_names(&html);
    names.sort();
    assert_eq!(names, ["王大锤", "王小明"]);
    assert_eq!(text_of(&html, "total-count"), "2");
    assert_eq!(
        attr(open_tag(&html, "id=\"q\"").unwrap(), "value").as_deref(),
        Some("王")
    );

    let (_, html) = a1.get("/leads?q=%E7%8E%8B&status=contacted").await;
    assert_eq!(lead_names(&html), ["王大锤"]);

    let (_, html) = a1.get("/leads?group_by=city").await;
    assert_eq!(
        group_counts(&html)[0],
        ("北京".to_string(), 2),
        "largest first"
    );
    let mut counts = group_counts(&html);
    counts.sort();
    assert_eq!(
        counts,
        [
            ("上海".to_string(), 1),
            ("共".to_string(), 4),
            ("北京".to_string(), 2),
            ("广州".to_string(), 1)
        ]
    );
    // A count links to the list narrowed to its group.
    let table = by_id(&html, "group-counts").unwrap();
    let href = tags(table, "a")
        .into_iter()
        .find(|a| table[table.find(a).unwrap() + a.len()..].starts_with("北京<"))
        .and_then(|a| attr(a, "href"))
        .expect("a link on the 北京 count");
    let (_, html) = a1.get(&href).await;
    let mut names = lead_names(&html);
    names.sort();
    assert_eq!(names, ["李四", "王小明"]);

    let (_, html) = a1.get("/leads?q=%E4%B8%8D%E5%AD%98%E5%9C%A8").await;
    assert!(lead_names(&html).is_empty());
    assert_eq!(text_of(&html, "no-results"), "没有符合条件的线索");
    assert_eq!(text_of(&html, "total-count"), "0");
}

#[tokio::test]
async fn a_saved_view_applies_its_filter_and_belongs_to_its_owner() {
    let app = TestApp::spawn().await;
    list_fixture(&app).await;
    app.api("agent_a2")
        .await
        .create_lead(json!({"name": "王二的客户", "phone": mobile(200), "status": "new"}))
        .await;
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get("/leads?status=new&q=%E7%8E%8B").await;
    let mut form = Form::find(&html, "id=\"save-view\"");
    let query = form.get("query").unwrap().to_string();
    assert!(
        query.contains("status=new") && query.contains("q=%E7%8E%8B"),
        "{query}"
    );
    form.set("name", "王姓新线索");
    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    let view_id: i64 = to
        .strip_prefix("/leads?view=")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{to}"));

    // A plain list with the view applied shows only the matching lead.
    let (status, html) = a1.get(&format!("/leads?view={view_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lead_names(&html), ["王小明"]);
    assert_eq!(text_of(&html, "total-count"), "1");
    assert!(
        html.contains(&format!(
            "<a href=\"/leads?view={view_id}\" class=\"view-link\">王姓新线索</a>"
        )),
        "the view is listed"
    );
    // The view still combines with a further filter.
    let (_, html) = a1.get(&format!("/leads?view={view_id}&city=上海")).await;
    assert!(lead_names(&html).is_empty());

    // Another agent neither sees the view nor gets results through its id.
    let a2 = app.browser("agent_a2").await;
    let (_, own) = a2.get("/leads").await;
    assert_eq!(lead_names(&own), ["王二的客户"]);
    assert!(!own.contains("王姓新线索"));
    let (status, html) = a2.get(&format!("/leads?view={view_id}")).await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::OK,
        "{status}"
    );
    assert!(
        lead_names(&html).is_empty(),
        "no results through a foreign view"
    );
    assert!(!html.contains("王小明") && !html.contains("王姓新线索"));
    assert!(html.contains("找不到该记录"), "says the view is not found");
    // Nor can it delete the view.
    let csrf = a2.csrf("/leads").await;
    let res = a2
        .post_form(
            &format!("/views/{view_id}/delete"),
            &[("_csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, html) = a1.get("/leads").await;
    assert!(html.contains("王姓新线索"));

    // The owner deletes it from the sidebar.
    let res = Form::find(&html, &format!("action=\"/views/{view_id}/delete\""))
        .submit(&a1)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!a1.get("/leads").await.1.contains("王姓新线索"));
}

// ---------------------------------------------------------------------------------------------
// The detail page: timeline and times
// ---------------------------------------------------------------------------------------------

/// The change lines of the timeline's newest entry.
fn newest_changes(timeline_html: &str) -> Vec<String> {
    let first = timeline_html.split("<li><time>").nth(1).expect("an entry");
    let list = match first.find("<ul>") {
        Some(i) => &first[i..first.find("</ul>").unwrap()],
        None => "",
    };
    list.split("<li>").skip(1).map(text).collect()
}

#[tokio::test]
async fn the_timeline_shows_who_changed_what_in_chinese_and_english() {
    let app = TestApp::spawn().await;
    let api = app.api("agent_a1").await;
    let lead = api
        .create_lead(
            json!({"name": "陈时间线", "phone": mobile(41), "company": "星河科技",
            "city": "杭州", "tags": ["展会"]}),
        )
        .await;
    let id = lead["id"].as_i64().unwrap();
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get(&format!("/leads/{id}/edit")).await;
    let mut form = Form::find(&html, "id=\"lead-form\"");
    assert_eq!(form.get("company"), Some("星河科技"));
    assert_eq!(form.get("tags"), Some("展会"));
    form.set("company", "银河科技").set("status", "contacted");
    let res = form.submit(&a1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/leads/{id}"));

    let (_, html) = a1.get(&format!("/leads/{id}")).await;
    let timeline = by_id(&html, "timeline").unwrap();
    let all = text(timeline);
    assert!(all.contains("张伟 修改"), "{all}");
    assert!(all.contains("张伟 创建"), "{all}");
    assert!(all.find("修改") < all.find("创建"), "newest first: {all}");
    assert_eq!(
        newest_changes(timeline),
        ["公司: 星河科技 → 银河科技", "状态: 新线索 → 已联系"],
        "only what the form changed"
    );
    assert_eq!(text_of(&html, "lead-status"), "已联系");

    // Clearing a field shows it as empty.
    let (_, html) = a1.get(&format!("/leads/{id}/edit")).await;
    let res = Form::find(&html, "id=\"lead-form\"")
        .set("city", "")
        .submit(&a1)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = a1.get(&format!("/leads/{id}")).await;
    assert_eq!(
        newest_changes(by_id(&html, "timeline").unwrap()),
        ["城市: 杭州 → （空）"]
    );

    let res = a1
        .http
        .get(app.url(&format!("/lang/en?next=/leads/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("/leads/{id}"));
    let (_, html) = a1.get(&format!("/leads/{id}")).await;
    let timeline = by_id(&html, "timeline").unwrap();
    let all = text(timeline);
    assert!(
        all.contains("张伟 changed") && all.contains("张伟 created"),
        "{all}"
    );
    assert_eq!(newest_changes(timeline), ["City: 杭州 → (empty)"]);
    let older: Vec<String> = timeline
        .split("<li><time>")
        .nth(2)
        .unwrap()
        .split("<li>")
        .skip(1)
        .map(text)
        .collect();
    assert_eq!(
        older,
        ["Company: 星河科技 → 银河科技", "Status: New → Contacted"]
    );
    assert_eq!(text_of(&html, "lead-status"), "Contacted");
}

#[tokio::test]
async fn times_are_shown_in_the_users_time_zone() {
    let app = TestApp::spawn().await;
    let api = app.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "时区测试", "phone": mobile(51)}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let created = DateTime::parse_from_rfc3339(lead["created_at"].as_str().unwrap()).unwrap();
    let shown = |offset_hours: i32| {
        created
            .with_timezone(&FixedOffset::east_opt(offset_hours * 3600).unwrap())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let (shanghai, utc) = (shown(8), shown(0));
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get(&format!("/leads/{id}")).await;
    assert!(
        html.contains(&format!("<dt>创建时间</dt><dd>{shanghai}</dd>"))
            || html.contains(&format!("<dd>{shanghai}</dd>")),
        "created {created} shown as {shanghai} in:\n{html}"
    );
    assert!(!html.contains(&utc), "not in UTC");
    let timeline = text_of(&html, "timeline");
    assert!(timeline.starts_with(&shanghai), "{timeline}");
    let (_, list) = a1.get("/leads").await;
    assert!(
        list.contains(&format!("<td>{shanghai}</td>")),
        "list row in +8"
    );

    // Another user's zone is used for that user.
    users::update_user(
        &app.db,
        app.org.agent_a1,
        &UserPatch {
            time_zone: Some("Asia/Tokyo".into()),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let (_, html) = a1.get(&format!("/leads/{id}")).await;
    assert!(
        html.contains(&format!("<dd>{}</dd>", shown(9))),
        "Tokyo is +9"
    );
    assert!(!html.contains(&format!("<dd>{shanghai}</dd>")));
}

// ---------------------------------------------------------------------------------------------
// Languages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_language_switch_turns_the_pages_english_and_back() {
    let app = TestApp::spawn().await;
    let a1 = app.browser("agent_a1").await;
    let (_, html) = a1.get("/leads").await;
    assert!(html.contains("<html lang=\"zh-CN\""));
    assert!(html.contains("线索列表") && html.contains(">退出<"));
    let switch = open_tag(&html, "id=\"lang-switch\"").unwrap();
    let href = attr(switch, "href").unwrap();
    assert!(href.starts_with("/lang/en?next=%2Fleads"), "{href}");

    let res = a1
        .http
        .get(app.url("/lang/en?next=/leads"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/leads");
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("leadline_lang=en;")),
        "{:?}",
        set_cookies(&res)
    );
    let (_, html) = a1.get("/leads").await;
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(html.contains(">Leads<") && html.contains(">Sign out<"));
    assert!(!html.contains("线索列表") && !html.contains("退出"));
    let nav = &html[html.find("<nav").unwrap()..html.find("</nav>").unwrap()];
    assert_eq!(chinese_besides(nav, &[]), "", "{nav}");

    let res = a1
        .http
        .get(app.url("/lang/zh-CN?next=/leads"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/leads");
    let (_, html) = a1.get("/leads").await;
    assert!(html.contains("<html lang=\"zh-CN\""));
    assert!(html.contains("线索列表") && html.contains(">退出<"));

    // The login page switches too.
    let http = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    http.get(app.url("/lang/en?next=/login"))
        .send()
        .await
        .unwrap();
    let html = http
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\"") && html.contains("Sign in"));
    let res = submit_login(&http, &app, "agent_a1", "nope", "/leads").await;
    assert_eq!(
        text_of(&res.text().await.unwrap(), "login-error"),
        "Wrong username or password"
    );
}

#[tokio::test]
async fn every_page_an_admin_opens_is_complete_in_english() {
    let app = TestApp::spawn().await;
    create_fields(&app, &the_fields()).await;
    let admin_api = app.api("admin").await;
    let lead = admin_api
        .create_lead(json!({"name": "王英文", "phone": mobile(61), "company": "星河科技",
            "city": "北京", "tags": ["展会"], "intent": "interested", "owner_id": app.org.agent_a1.0,
            "custom": {"level": "A", "products": ["CRM", "短信"], "visit_date": "2026-03-01",
                "budget": 5000, "contact_email": "wang@example.com"}}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let res = admin_api
        .patch(
            &format!("/api/v1/leads/{id}"),
            json!({"status": "call_back", "intent": "positive", "company": "银河科技",
                "custom": {"level": "B", "products": ["呼叫中心"], "budget": 8000}, "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    leadline_store::workday::calls::insert_many(
        &app.db,
        &[leadline_store::workday::calls::NewCall {
            lead_id: leadline_domain::LeadId(id),
            agent_id: app.org.agent_a1,
            started_at: chrono::Utc::now(),
            duration_s: 95,
            disposition: "call_back".into(),
            intent: Some("positive".into()),
            notes: "周三再打".into(),
            next_revisit_at: None,
            script_id: None,
        }],
    )
    .await
    .unwrap();
    let admin = app.browser("admin").await;
    // An API token, so the tokens page has a row.
    let (_, html) = admin.get("/tokens").await;
    let res = Form::find(&html, "action=\"/tokens\"")
        .set("name", "报表脚本")
        .submit(&admin)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // A saved view and an admin change for the side panels.
    let (_, html) = admin.get("/leads?status=call_back").await;
    Form::find(&html, "id=\"save-view\"")
        .set("name", "待回访")
        .submit(&admin)
        .await;
    let (_, html) = admin.get("/admin/teams").await;
    let res = Form::find(&html, "id=\"team-form\"")
        .set("name", "电销三组")
        .submit(&admin)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Data a page may show in Chinese.
    let data = [
        "王英文",
        "星河科技",
        "银河科技",
        "北京",
        "展会",
        "短信",
        "呼叫中心",
        "周三再打",
        "客户等级",
        "关注产品",
        "拜访日期",
        "预算",
        "联系邮箱",
        "报表脚本",
        "待回访",
        "电销一组",
        "电销二组",
        "电销三组",
        "管理员",
        "王主管",
        "李主管",
        "张伟",
        "李娜",
        "赵磊",
        "黄磊",
        // The switch back to Chinese is written in Chinese on purpose.
        "中文",
    ];
    let pages = [
        "/leads".to_string(),
        "/leads?group_by=cf.level".to_string(),
        "/leads/new".to_string(),
        format!("/leads/{id}"),
        format!("/leads/{id}/edit"),
        "/admin/fields".to_string(),
        "/admin/users".to_string(),
        "/admin/teams".to_string(),
        "/tokens".to_string(),
    ];
    // In Chinese first: complete, no marker.
    for path in &pages {
        let (status, html) = admin.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("<html lang=\"zh-CN\""), "{path}");
        assert_eq!(lone_question_marks(&html), Vec::<String>::new(), "{path}");
    }
    let res = admin
        .http
        .get(app.url("/lang/en?next=/leads"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for path in &pages {
        let (status, html) = admin.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("<html lang=\"en\""), "{path}");
        assert_eq!(
            lone_question_marks(&html),
            Vec::<String>::new(),
            "missing translations on {path}"
        );
        let nav = &html[html.find("<header").unwrap()..html.find("</header>").unwrap()];
        assert_eq!(
            chinese_besides(nav, &["管理员", "中文"]),
            "",
            "Chinese in the English nav of {path}"
        );
        assert!(
            nav.contains(">Leads<") && nav.contains(">Sign out<"),
            "{path}"
        );
        assert!(nav.contains("管理员 · Administrator"), "{path}");
        assert_eq!(
            chinese_besides(&html, &data),
            "",
            "Chinese interface words on the English {path}"
        );
    }
    // Spot checks that the English words are the right ones.
    let (_, html) = admin.get(&format!("/leads/{id}")).await;
    assert_eq!(text_of(&html, "lead-status"), "Call back");
    assert_eq!(text_of(&html, "lead-intent"), "Positive");
    let calls = text_of(&html, "calls");
    assert!(
        calls.contains("95 s Call back Positive 周三再打"),
        "{calls}"
    );
    assert!(html.contains("<dt>Customer level</dt><dd class=\"custom\">B</dd>"));
    let timeline = text_of(&html, "timeline");
    assert!(timeline.contains("Customer level: A → B"), "{timeline}");
    assert!(
        timeline.contains("Intent level: Interested → Positive"),
        "{timeline}"
    );
    let (_, html) = admin.get("/leads/new").await;
    assert!(text(&html).contains("Customer level *"));
}

// ---------------------------------------------------------------------------------------------
// API tokens
// ---------------------------------------------------------------------------------------------

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

#[tokio::test]
async fn a_reassignment_on_the_timeline_names_the_people_not_their_ids() {
    let app = TestApp::spawn().await;
    let api = app.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "转交客户", "phone": mobile(71), "tags": ["老客户"]}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    let sup = app.browser("sup_a").await;
    let (_, html) = sup.get(&format!("/leads/{id}/edit")).await;
    let res = Form::find(&html, "id=\"lead-form\"")
        .set("owner_id", &app.org.agent_a2.0.to_string())
        .set("phones", &format!("{}\n010-6552 9988", mobile(71)))
        .set("tags", "老客户, 展会")
        .submit(&sup)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = sup.get(&format!("/leads/{id}")).await;
    let changes = newest_changes(by_id(&html, "timeline").unwrap());
    assert!(
        changes.contains(&"负责人: 张伟 → 李娜".to_string()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&format!(
            "电话: {} → {}, 010-6552 9988",
            mobile(71),
            mobile(71)
        )),
        "{changes:?}"
    );
    assert!(
        changes.iter().any(|c| c.starts_with("标签: ")),
        "{changes:?}"
    );
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(text_of(&html, "lead-owner"), "李娜");

    // Into the pool.
    let (_, html) = sup.get(&format!("/leads/{id}/edit")).await;
    let res = Form::find(&html, "id=\"lead-form\"")
        .set("owner_id", "")
        .submit(&sup)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = sup.get(&format!("/leads/{id}")).await;
    assert_eq!(text_of(&html, "lead-owner"), "公海");
    assert_eq!(
        newest_changes(by_id(&html, "timeline").unwrap()),
        ["负责人: 李娜 → 公海"]
    );
}
