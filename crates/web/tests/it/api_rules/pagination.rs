//! Cursor pagination: every lead once, in order, for each sort.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{id_of, item_ids, problems, status_json, time};
use crate::api_leads::urlencode;
use crate::helpers::{Api, TestApp, mobile};

async fn walk(api: &Api, sort: &str) -> (Vec<i64>, Vec<usize>) {
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/api/v1/leads?sort={}&limit=10", urlencode(sort));
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let (status, page) = api.get_json(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let ids = item_ids(&page);
        assert!(ids.len() <= 10);
        sizes.push(ids.len());
        seen.extend(ids);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert!(page["next_cursor"].is_null());
                break;
            }
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    (seen, sizes)
}

#[tokio::test]
async fn cursor_pages_visit_every_lead_exactly_once_in_order_for_each_sort() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let mut leads: Vec<Value> = Vec::new();
    for i in 0..25u32 {
        // Repeated names, so that ties must be broken by id.
        let name = format!("客户{:02}", (i * 7) % 10);
        leads.push(
            a1.create_lead(json!({"name": name, "phone": mobile(1000 + i)}))
                .await,
        );
    }
    for i in 0..3u32 {
        a2.create_lead(json!({"name": "客户00", "phone": mobile(2000 + i)}))
            .await;
    }
    // Touch three leads so that the update order differs from the creation order.
    for i in [3usize, 17, 9] {
        let path = format!("/api/v1/leads/{}", leads[i]["id"]);
        let (status, updated) = status_json(a1.patch(&path, json!({"city": "杭州"})).await).await;
        assert_eq!(status, StatusCode::OK);
        leads[i] = updated;
    }

    let mut by_created: Vec<&Value> = leads.iter().collect();
    by_created.sort_by_key(|l| std::cmp::Reverse(id_of(l)));
    let mut by_name: Vec<&Value> = leads.iter().collect();
    by_name.sort_by(|a, b| {
        (a["name"].as_str().unwrap(), id_of(a)).cmp(&(b["name"].as_str().unwrap(), id_of(b)))
    });
    let mut by_updated: Vec<&Value> = leads.iter().collect();
    by_updated.sort_by(|a, b| {
        (time(&b["updated_at"]), id_of(b)).cmp(&(time(&a["updated_at"]), id_of(a)))
    });
    let ids = |v: &[&Value]| v.iter().map(|l| id_of(l)).collect::<Vec<_>>();
    let touched: Vec<i64> = [9usize, 17, 3].iter().map(|i| id_of(&leads[*i])).collect();
    assert_eq!(ids(&by_updated)[..3], touched[..], "the last touched first");

    for (sort, expected) in [
        ("-created_at", ids(&by_created)),
        ("name", ids(&by_name)),
        ("-updated_at", ids(&by_updated)),
    ] {
        let (seen, sizes) = walk(&a1, sort).await;
        assert_eq!(sizes, [10, 10, 5], "sort={sort}");
        let unique: BTreeSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "sort={sort}: no lead twice");
        assert_eq!(seen, expected, "sort={sort}: every lead once, in order");
    }

    // Cursors that cannot be honoured are refused, not ignored.
    let (_, first) = a1.get_json("/api/v1/leads?sort=name&limit=10").await;
    let name_cursor = first["next_cursor"].as_str().unwrap().to_string();
    for (sort, cursor) in [
        ("-created_at", "not-a-cursor!!".to_string()),
        ("-created_at", "eyJub3QiOiJhIGN1cnNvciJ9".to_string()),
        ("-created_at", name_cursor.clone()),
        ("-updated_at", name_cursor),
    ] {
        let (status, body) = a1
            .get_json(&format!(
                "/api/v1/leads?sort={}&limit=10&cursor={}",
                urlencode(sort),
                urlencode(&cursor)
            ))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{sort} {cursor}");
        assert_eq!(problems(&body), [("cursor".into(), "bad_cursor".into())]);
    }
}
