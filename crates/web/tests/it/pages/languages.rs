//! Languages: the switch, and every page an admin opens complete in English.

use reqwest::{Client, StatusCode};
use serde_json::json;

use super::html::{
    Form, attr, location, open_tag, set_cookies, submit_login, text, text_of, unescape,
};
use super::{create_fields, the_fields};
use crate::helpers::{TestApp, mobile};

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
