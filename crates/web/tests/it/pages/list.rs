//! The lead list: filters in the address, group counts, and saved views.

use reqwest::StatusCode;
use serde_json::json;

use super::html::{Form, attr, by_id, lead_names, location, open_tag, tags, text, text_of};
use crate::helpers::{Api, TestApp, mobile};

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
