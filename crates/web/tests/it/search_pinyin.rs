//! Search as a Chinese floor types it (issue 25): a lead's name and company are found by pinyin
//! and initials (`wang`, `zhangwei`, `zw` find 张伟), on either backend; copies of one call
//! note fold into one hit, and a table in an article shows its cells, not its pipes.

use leadline_domain::LeadId;
use leadline_store::workday::calls::{self, NewCall};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

async fn names_found(api: &Api, q: &str) -> Vec<String> {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, page) = api.get_json(&format!("/api/v1/leads?q={q}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut names: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn pinyin_and_initials_find_names_and_companies() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    for (name, company, n) in [
        ("张伟", "杭州云帆科技", 1),
        ("王小明", "华为技术", 2),
        ("李娜", "星河科技", 3),
        ("单田芳", "评书社", 4),
    ] {
        admin
            .create_lead(json!({"name": name, "phone": mobile(n), "company": company}))
            .await;
    }
    for (q, want) in [
        ("zhangwei", vec!["张伟"]),
        ("zw", vec!["张伟"]),
        ("zhang", vec!["张伟"]),
        ("wang", vec!["王小明"]),
        ("xiaoming", vec!["王小明"]),
        ("wxm", vec!["王小明"]),
        ("lina", vec!["李娜"]),
        ("ZhangWei", vec!["张伟"]),
        // A company by its pinyin or initials, also from its middle.
        ("hwjs", vec!["王小明"]),
        ("yunfan", vec!["张伟"]),
        // A surname read two ways.
        ("shantianfang", vec!["单田芳"]),
        ("dantianfang", vec!["单田芳"]),
        // Hanzi still work, and nothing is found for letters no name has.
        ("张伟", vec!["张伟"]),
        ("qqqx", vec![]),
    ] {
        assert_eq!(names_found(&admin, q).await, want, "query {q}");
    }
    // Visibility holds: an agent of the other team finds none of the admin's pool leads by
    // pinyin either unless they may see them.
    let b1 = app.api("agent_b1").await;
    let mine = b1
        .create_lead(json!({"name": "赵敏", "phone": mobile(9)}))
        .await;
    assert_eq!(names_found(&b1, "zhaomin").await, vec!["赵敏"]);
    let a1 = app.api("agent_a1").await;
    assert!(
        names_found(&a1, "zhaomin").await.is_empty(),
        "{mine} is not a1's"
    );
}

async fn search(api: &Api, q: &str) -> Vec<Value> {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, body) = api.get_json(&format!("/api/v1/search?q={q}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn copies_of_a_call_note_fold_into_one_hit_and_tables_lose_their_pipes() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let mut calls_made = Vec::new();
    for n in 0..6 {
        let lead = a1
            .create_lead(json!({"name": format!("客户{n}"), "phone": mobile(100 + n)}))
            .await;
        let notes = if n < 5 {
            // The same words pasted on five calls, with different spacing.
            if n % 2 == 0 {
                "客户要求发报价单 ，下周回访"
            } else {
                "客户要求发报价单  ，下周回访 "
            }
        } else {
            "客户要求发报价单，已转销售"
        };
        calls_made.push(NewCall {
            lead_id: LeadId(lead["id"].as_i64().unwrap()),
            agent_id: app.org.agent_a1,
            started_at: chrono::Utc::now(),
            duration_s: 60,
            disposition: "connected".into(),
            intent: None,
            notes: notes.into(),
            next_revisit_at: None,
            script_id: None,
        });
    }
    calls::insert_many(&app.db, &calls_made).await.unwrap();
    let hits: Vec<Value> = search(&a1, "报价单")
        .await
        .into_iter()
        .filter(|h| h["kind"] == "call_note")
        .collect();
    assert_eq!(hits.len(), 2, "five copies fold into one: {hits:?}");
    let folded = hits
        .iter()
        .find(|h| h["same_notes"] == 4)
        .expect("a folded hit");
    assert!(folded["snippet"].as_str().unwrap().contains("下周回访"));
    let (_, html) = app.browser("agent_a1").await.get("/search?q=报价单").await;
    assert!(html.contains("另有 4 条相同的通话备注"), "{html}");

    let sup = app.api("sup_a").await;
    let res = sup
        .post(
            "/api/v1/kb/articles",
            json!({"title": "版本价格", "category": "产品",
                "body": "各版本价格如下：\n\n| 版本 | 年费 |\n|---|---:|\n| 专业版 | 9800 |\n| 旗舰版 | 19800 |\n"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let hits = search(&sup, "旗舰版").await;
    let article = hits
        .iter()
        .find(|h| h["kind"] == "article")
        .expect("the article");
    let snippet = article["snippet"].as_str().unwrap();
    assert!(!snippet.contains('|'), "{snippet}");
    assert!(snippet.contains("19800"), "{snippet}");
}
