//! Roles on pages: what agents, supervisors and admins may see and do.

use reqwest::StatusCode;
use serde_json::json;

use super::html::{
    Form, get_with_cookie, lead_names, location, plain_client, session_cookie, submit_login,
    text_of,
};
use crate::helpers::{Browser, TestApp, mobile};

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
