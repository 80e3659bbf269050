//! Knowledge-base articles: safe Markdown, written by supervisors with their history.

use reqwest::StatusCode;
use serde_json::json;

use super::{create_article, search};
use crate::helpers::TestApp;

#[tokio::test]
async fn markdown_is_rendered_without_script_injection() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let a = create_article(
        &sup,
        json!({"title": "格式示例", "category": "测试",
            "body": "# 标题\n\n**重点**：<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[点我](javascript:alert(1)) [官网](https://example.com)\n\n<a href=\"javascript:alert(2)\" onclick=\"alert(3)\">raw</a>"}),
    )
    .await;
    let html = a["html"].as_str().unwrap();
    assert!(html.contains("<h1>标题</h1>"), "{html}");
    assert!(html.contains("<strong>重点</strong>"), "{html}");
    assert!(
        html.contains("<a href=\"https://example.com\">官网</a>"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<a href=\"javascript"), "{html}");
    assert!(html.contains("<a href=\"#\">点我</a>"), "{html}");
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        assert!(
            !tag.contains("onerror") && !tag.contains("onclick") && !tag.contains("javascript"),
            "a tag with a script in it: <{tag}> in {html}"
        );
    }
    let (status, page) = app
        .browser("agent_a1")
        .await
        .get(&format!("/kb/articles/{}", a["id"]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<strong>重点</strong>"));
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
}

#[tokio::test]
async fn articles_are_written_by_supervisors_with_history() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let sup = app.api("sup_a").await;
    let res = agent
        .post(
            "/api/v1/kb/articles",
            json!({"title": "x", "body": "y", "category": "z"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let a = create_article(
        &sup,
        json!({"title": "发票开具说明", "category": "政策制度/财务", "tags": "发票, 财务",
            "body": "付款到账后开具发票。"}),
    )
    .await;
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["category"], "政策制度/财务");
    assert_eq!(a["tags"], json!(["发票", "财务"]));
    assert_eq!(a["author_name"], "王主管");
    let res = agent
        .patch(&format!("/api/v1/kb/articles/{id}"), json!({"title": "改"}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let admin = app.api("admin").await;
    let res = admin
        .patch(
            &format!("/api/v1/kb/articles/{id}"),
            json!({"body": "付款到账后 3 个工作日内开具电子发票。", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = sup
        .patch(
            &format!("/api/v1/kb/articles/{id}"),
            json!({"body": "旧页面上的修改", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let (_, history) = agent
        .get_json(&format!("/api/v1/kb/articles/{id}/history"))
        .await;
    let who: Vec<(&str, &str)> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap(),
                c["actor_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(who, [("create", "王主管"), ("update", "管理员")]);

    // The tree holds both levels; filters by category include sub-categories.
    let (_, cats) = agent.get_json("/api/v1/kb/categories").await;
    let paths: Vec<&str> = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["政策制度", "政策制度/财务"]);
    let (_, list) = agent
        .get_json("/api/v1/kb/articles?category=%E6%94%BF%E7%AD%96%E5%88%B6%E5%BA%A6")
        .await;
    assert_eq!(list["items"][0]["id"], id);

    // The article page says who wrote and who changed it.
    let (_, page) = app
        .browser("agent_a1")
        .await
        .get(&format!("/kb/articles/{id}"))
        .await;
    assert!(page.contains("王主管") && page.contains("管理员"));
    assert!(
        !page.contains("id=\"edit-article\""),
        "agents get no edit link"
    );

    // Deleting takes it out of search.
    assert!(!search(&agent, "电子发票", "").await.is_empty());
    assert_eq!(
        sup.delete(&format!("/api/v1/kb/articles/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(search(&agent, "电子发票", "").await.is_empty());
}
