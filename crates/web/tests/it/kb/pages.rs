//! The script and knowledge-base pages in Chinese and English.

use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_pages_work_in_chinese_and_english() {
    let app = TestApp::spawn().await;
    let sup = app.browser("sup_a").await;
    // A script written through the form.
    let csrf = sup.csrf("/scripts/new").await;
    let res = sup
        .post_form(
            "/scripts",
            &[
                ("_csrf", &csrf),
                ("title", "页面上写的话术"),
                ("category", "开场白"),
                ("body", "{{lead.name}}您好！"),
                ("shared", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let script_url = res.headers()["location"].to_str().unwrap().to_string();
    // A bad one keeps what was typed and names the field in the form's words.
    let res = sup
        .post_form(
            "/scripts",
            &[("_csrf", &csrf), ("title", ""), ("body", "保留我写的内容")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("保留我写的内容") && html.contains("标题: 必填"),
        "{html}"
    );
    // An article written through the form.
    let csrf = sup.csrf("/kb/articles/new").await;
    let res = sup
        .post_form(
            "/kb/articles",
            &[
                ("_csrf", &csrf),
                ("title", "页面上写的文章"),
                ("category", "产品知识/安装"),
                ("tags", "安装, 部署"),
                ("body", "## 步骤\n\n1. 下载\n2. 安装"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let article_url = res.headers()["location"].to_str().unwrap().to_string();
    let (_, page) = sup.get(&format!("{article_url}/edit")).await;
    assert!(page.contains("页面上写的文章"));

    let agent = app.browser("agent_a1").await;
    for (path, zh) in [
        ("/scripts", "话术库"),
        ("/scripts/new", "新建话术"),
        (script_url.as_str(), "版本历史"),
        ("/kb", "知识库"),
        (
            "/kb?category=%E4%BA%A7%E5%93%81%E7%9F%A5%E8%AF%86",
            "页面上写的文章",
        ),
        (article_url.as_str(), "修改记录"),
        ("/search?q=%E5%AE%89%E8%A3%85", "<mark>安装</mark>"),
    ] {
        let (status, html) = agent.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(zh), "{path} in Chinese: {html}");
        assert!(
            html.contains("href=\"/kb\""),
            "nav links to the knowledge base"
        );
    }
    let res = agent.get("/lang/en?next=/kb").await;
    assert!(res.0.is_redirection() || res.0 == StatusCode::OK);
    for (path, en) in [
        ("/scripts", "Script library"),
        ("/kb", "Knowledge base"),
        ("/search", "Search"),
        (article_url.as_str(), "Changes"),
    ] {
        let (_, html) = agent.get(path).await;
        assert!(html.contains(en), "{path} in English: {html}");
    }
    // Agents cannot reach the article editor.
    assert_eq!(agent.get("/kb/articles/new").await.0, StatusCode::FORBIDDEN);
}
