//! The lead's page: the timeline of changes, reassignments named by people, and times in the
//! user's zone.

use chrono::{DateTime, FixedOffset};
use leadline_store::auth::users::{self, UserPatch};
use reqwest::StatusCode;
use serde_json::json;

use super::html::{Form, by_id, location, text, text_of};
use crate::helpers::{TestApp, mobile};

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
