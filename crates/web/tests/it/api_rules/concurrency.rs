//! Concurrent writes: a double-clicked create and edits racing from the same version.

use reqwest::StatusCode;
use serde_json::json;

use super::{clone_api, id_of, item_ids, status_json};
use crate::helpers::{TestApp, mobile};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_double_clicked_create_stores_one_lead_and_tells_the_others_it_is_a_duplicate() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let formats = [
        "139 1234 5678",
        "+86 139-1234-5678",
        "13912345678",
        "8613912345678",
        "(+86)13912345678",
    ];
    for round in 0..3u32 {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(formats.len()));
        let mut tasks = Vec::new();
        for phone in formats {
            let api = clone_api(&a1);
            let barrier = barrier.clone();
            // Each round uses another number: replace the last digit.
            let phone = format!("{}{round}", &phone[..phone.len() - 1]);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                status_json(
                    api.post("/api/v1/leads", json!({"name": "双击客户", "phone": phone}))
                        .await,
                )
                .await
            }));
        }
        let mut created = Vec::new();
        let mut refused = Vec::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            match status {
                StatusCode::CREATED => created.push(body),
                StatusCode::CONFLICT => refused.push(body),
                other => panic!("round {round}: unexpected {other}: {body}"),
            }
        }
        assert_eq!(created.len(), 1, "round {round}: exactly one is stored");
        assert_eq!(refused.len(), formats.len() - 1);
        for r in &refused {
            assert_eq!(r["code"], "duplicate_phone", "{r}");
            assert_eq!(r["details"]["existing_lead"]["id"], created[0]["id"]);
        }
        let (_, page) = a1.get_json(&format!("/api/v1/leads?q=567{round}")).await;
        assert_eq!(item_ids(&page), [id_of(&created[0])]);
    }
    assert_eq!(leadline_store::leads::count_live(&app.db).await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_edits_from_the_same_version_exactly_one_wins_and_its_value_is_kept() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let sup_a = app.api("sup_a").await;
    for round in 0..3u32 {
        let lead = a1
            .create_lead(json!({"name": "并发客户", "phone": mobile(700 + round)}))
            .await;
        let path = format!("/api/v1/leads/{}", lead["id"]);
        let cities = ["甲城", "乙城", "丙城", "丁城"];
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(cities.len()));
        let mut tasks = Vec::new();
        for (i, city) in cities.iter().enumerate() {
            let api = clone_api(if i % 2 == 0 { &a1 } else { &sup_a });
            let (barrier, path, city) = (barrier.clone(), path.clone(), city.to_string());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let res = api.patch(&path, json!({"city": city, "version": 1})).await;
                (city, status_json(res).await)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (city, (status, body)) = t.await.unwrap();
            match status {
                StatusCode::OK => winners.push((city, body)),
                StatusCode::CONFLICT => {
                    assert_eq!(body["code"], "edit_conflict", "{body}");
                    assert_eq!(body["details"]["current_version"], 2);
                }
                other => panic!("round {round}: unexpected {other}: {body}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one edit wins");
        let (city, body) = &winners[0];
        assert_eq!(body["version"], 2);
        let (_, stored) = a1.get_json(&path).await;
        assert_eq!(
            stored["city"],
            city.as_str(),
            "the winner's value is stored"
        );
        assert_eq!(stored["version"], 2);
        let (_, history) = a1.get_json(&format!("{path}/history")).await;
        let updates = history["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == "update")
            .count();
        assert_eq!(updates, 1, "losers leave no trace in the audit trail");
    }
}
