//! Who sees what: each role lists, reads and edits exactly its own, its team's and the pool,
//! and hands leads on only within its reach.

use reqwest::StatusCode;
use serde_json::json;

use super::{id_of, listed, sorted, status_json, user_id};
use crate::helpers::{TestApp, mobile};

const EVERYONE: [&str; 7] = [
    "admin", "sup_a", "sup_b", "agent_a1", "agent_a2", "agent_b1", "sales1",
];

/// Whose leads each viewer may see and edit, besides the pool (everyone sees the pool).
fn visible_owners(viewer: &str) -> &'static [&'static str] {
    match viewer {
        "admin" => &EVERYONE,
        // sup_a is itself a member of team A.
        "sup_a" => &["sup_a", "agent_a1", "agent_a2"],
        "sup_b" => &["sup_b", "agent_b1"],
        "agent_a1" => &["agent_a1"],
        "agent_a2" => &["agent_a2"],
        "agent_b1" => &["agent_b1"],
        "sales1" => &["sales1"],
        other => panic!("no fixture user {other}"),
    }
}

#[tokio::test]
async fn every_role_sees_lists_and_edits_exactly_its_own_its_teams_and_the_pool() {
    let app = TestApp::spawn().await;
    let mut apis = Vec::new();
    for u in EVERYONE {
        apis.push((u, app.api(u).await));
    }
    let api = |u: &str| &apis.iter().find(|(n, _)| *n == u).unwrap().1;

    // One lead created (and so owned) by each user, and one pool lead.
    let mut leads: Vec<(&str, i64, String)> = Vec::new();
    for (i, u) in EVERYONE.iter().enumerate() {
        let name = format!("{u}的客户");
        let lead = api(u)
            .create_lead(json!({"name": name, "phone": mobile(100 + i as u32)}))
            .await;
        assert_eq!(lead["owner_id"], json!(user_id(&app, u).0), "{u} owns it");
        assert_eq!(lead["created_by"], json!(user_id(&app, u).0));
        leads.push((u, id_of(&lead), name));
    }
    let pool = api("agent_a1")
        .create_lead(json!({"name": "公海客户", "phone": mobile(199), "pool": true}))
        .await;
    assert!(pool["owner_id"].is_null(), "pool: true leaves it unowned");
    leads.push(("pool", id_of(&pool), "公海客户".into()));

    // What a lead that does not exist looks like: a hidden one must look the same.
    let (missing_status, missing_body) = api("admin").get_json("/api/v1/leads/99999999").await;
    assert_eq!(missing_status, StatusCode::NOT_FOUND);
    assert_eq!(missing_body["code"], "not_found");

    for viewer in EVERYONE {
        let v = api(viewer);
        let sees = |owner: &str| owner == "pool" || visible_owners(viewer).contains(&owner);
        let expected: Vec<i64> = sorted(
            leads
                .iter()
                .filter(|(o, _, _)| sees(o))
                .map(|(_, id, _)| *id)
                .collect(),
        );
        assert_eq!(
            listed(v, "").await,
            expected,
            "{viewer} lists exactly these"
        );
        let (_, counts) = v.get_json("/api/v1/leads/counts?group_by=owner").await;
        assert_eq!(counts["total"], expected.len(), "{viewer} counts: {counts}");

        for (owner, id, name) in &leads {
            let path = format!("/api/v1/leads/{id}");
            let (status, body) = v.get_json(&path).await;
            let (h_status, h_body) = v.get_json(&format!("{path}/history")).await;
            if sees(owner) {
                assert_eq!(status, StatusCode::OK, "{viewer} reads {owner}'s lead");
                assert_eq!(body["name"], name.as_str());
                assert_eq!(h_status, StatusCode::OK, "{viewer} reads its history");
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{viewer} reads {owner}'s");
                assert_eq!(
                    body, missing_body,
                    "a hidden lead is indistinguishable from a missing one"
                );
                assert!(!body.to_string().contains(name.as_str()));
                assert_eq!(h_status, StatusCode::NOT_FOUND, "{viewer}: history hidden");
                assert!(!h_body.to_string().contains(name.as_str()));
            }
        }
    }

    // Edits, in an order where a refused write that still wrote would show in the end state.
    let edit_order = [
        "admin", "sup_a", "sup_b", "agent_a1", "agent_a2", "agent_b1", "sales1",
    ];
    for viewer in edit_order {
        let v = api(viewer);
        for (owner, id, name) in &leads {
            let (status, body) = status_json(
                v.patch(
                    &format!("/api/v1/leads/{id}"),
                    json!({"title": format!("{viewer}改")}),
                )
                .await,
            )
            .await;
            if owner == &"pool" || visible_owners(viewer).contains(owner) {
                assert_eq!(status, StatusCode::OK, "{viewer} edits {owner}'s: {body}");
                assert_eq!(body["title"], format!("{viewer}改"));
            } else {
                // Refused as a read is: no sign that the lead exists.
                assert_eq!(status, StatusCode::NOT_FOUND, "{viewer} edits {owner}'s");
                assert_eq!(body["code"], "not_found");
                assert!(!body.to_string().contains(name.as_str()), "no data leaks");
            }
        }
    }
    for (owner, id, _) in &leads {
        let allowed: Vec<&str> = edit_order
            .into_iter()
            .filter(|v| *owner == "pool" || visible_owners(v).contains(owner))
            .collect();
        let (_, lead) = api("admin").get_json(&format!("/api/v1/leads/{id}")).await;
        assert_eq!(
            lead["title"],
            format!("{}改", allowed.last().unwrap()),
            "{owner}'s lead keeps the last permitted edit"
        );
        assert_eq!(
            lead["version"],
            1 + allowed.len() as i64,
            "{owner}'s lead: one version per permitted edit, none for refused ones"
        );
    }
}

#[tokio::test]
async fn agents_cannot_hand_leads_to_others_and_supervisors_only_within_their_teams() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let sales = app.api("sales1").await;
    let sup_a = app.api("sup_a").await;
    let admin = app.api("admin").await;
    let (a1_id, a2_id, b1_id) = (app.org.agent_a1.0, app.org.agent_a2.0, app.org.agent_b1.0);

    let res = a1
        .post(
            "/api/v1/leads",
            json!({"name": "转给别人", "phone": mobile(1), "owner_id": a2_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = sales
        .post(
            "/api/v1/leads",
            json!({"name": "转给别人", "phone": mobile(1), "owner_id": a1_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        leadline_store::leads::count_live(&app.db).await.unwrap(),
        0,
        "refused creations store nothing"
    );
    let own = a1
        .create_lead(json!({"name": "自己的", "phone": mobile(1), "owner_id": a1_id}))
        .await;
    let path = format!("/api/v1/leads/{}", own["id"]);
    let (status, body) = status_json(a1.patch(&path, json!({"owner_id": a2_id})).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, now) = a1.get_json(&path).await;
    assert_eq!(now["owner_id"], a1_id, "still the agent's");
    assert_eq!(now["version"], 1, "nothing written");

    // A supervisor assigns within its team, not outside it.
    let given = sup_a
        .create_lead(json!({"name": "分配给组员", "phone": mobile(2), "owner_id": a2_id}))
        .await;
    assert_eq!(given["owner_id"], a2_id);
    let res = sup_a
        .post(
            "/api/v1/leads",
            json!({"name": "跨组分配", "phone": mobile(3), "owner_id": b1_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = sup_a.patch(&path, json!({"owner_id": a2_id})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        a1.get(&path).await.status(),
        StatusCode::NOT_FOUND,
        "the agent no longer sees a lead handed to a colleague"
    );
    let res = a1.patch(&path, json!({"city": "杭州"})).await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "nor may change it, and is not told it exists"
    );
    let (_, kept) = sup_a.get_json(&path).await;
    assert_eq!(kept["owner_id"], a2_id);
    assert!(kept["city"].is_null(), "nothing written: {kept}");
    let res = sup_a.patch(&path, json!({"owner_id": b1_id})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = admin.patch(&path, json!({"owner_id": b1_id})).await;
    assert_eq!(res.status(), StatusCode::OK, "an admin assigns anywhere");
    assert_eq!(
        sup_a.get(&path).await.status(),
        StatusCode::NOT_FOUND,
        "now in team B"
    );
}
