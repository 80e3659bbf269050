//! Administration: the audit of user changes and field creation, deactivation, and the actions
//! only admins may take.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{create_fields, status_json};
use crate::helpers::{TestApp, mobile};

#[tokio::test]
async fn user_changes_and_field_creation_are_audited_and_a_deactivated_users_token_stops_working() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let a1 = app.api("agent_a1").await;
    let sup_a = app.api("sup_a").await;
    let sup_b = app.api("sup_b").await;
    let a2 = app.api("agent_a2").await;
    let org = &app.org;
    let lead = a2
        .create_lead(json!({"name": "李娜的客户", "phone": mobile(800)}))
        .await;
    let lead_path = format!("/api/v1/leads/{}", lead["id"]);
    assert_eq!(sup_a.get(&lead_path).await.status(), StatusCode::OK);

    // An agent may not change users; nothing is recorded for the refusal.
    let before = leadline_store::audit::history(&app.db, "user", org.agent_a2.0)
        .await
        .unwrap()
        .len();
    let res = a1
        .patch(
            &format!("/api/v1/users/{}", org.agent_a2.0),
            json!({"display_name": "黑客"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = sup_a
        .patch(
            &format!("/api/v1/users/{}", org.agent_a2.0),
            json!({"display_name": "黑客"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        leadline_store::audit::history(&app.db, "user", org.agent_a2.0)
            .await
            .unwrap()
            .len(),
        before
    );

    let (status, user) = status_json(
        admin
            .patch(
                &format!("/api/v1/users/{}", org.agent_a2.0),
                json!({"display_name": "李娜娜", "team_id": org.team_b.0}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["display_name"], "李娜娜");
    let history = leadline_store::audit::history(&app.db, "user", org.agent_a2.0)
        .await
        .unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.action, "update");
    assert_eq!(last.actor_id, Some(org.admin));
    assert_eq!(last.actor_name.as_deref(), Some("管理员"));
    let changed: BTreeMap<String, (Value, Value)> = last
        .changes()
        .into_iter()
        .map(|(f, b, a)| (f, (b, a)))
        .collect();
    assert_eq!(
        changed,
        BTreeMap::from([
            ("display_name".to_string(), (json!("李娜"), json!("李娜娜"))),
            (
                "team_id".to_string(),
                (json!(org.team_a.0), json!(org.team_b.0))
            ),
        ])
    );
    // The move takes effect at once: the lead follows its owner into team B.
    assert_eq!(sup_a.get(&lead_path).await.status(), StatusCode::NOT_FOUND);
    let (status, seen) = sup_b.get_json(&lead_path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["owner_name"], "李娜娜");

    // Creating a custom field is recorded with its definition and who did it.
    create_fields(
        &admin,
        &[
            json!({"key": "industry", "label_zh": "行业", "kind": "select",
            "options": ["教育", "金融"]}),
        ],
    )
    .await;
    let recent = leadline_store::audit::recent_admin_changes(&app.db, 50)
        .await
        .unwrap();
    let entry = recent
        .iter()
        .find(|r| r.entity == "custom_field" && r.action == "create")
        .expect("the field creation is in the audit trail");
    assert_eq!(entry.actor_id, Some(org.admin));
    let after = &entry.after.as_ref().unwrap().0;
    assert_eq!(after["key"], "industry");
    assert_eq!(after["kind"], "select");
    assert_eq!(after["options"], json!(["教育", "金融"]));
    let field_history = leadline_store::audit::history(&app.db, "custom_field", entry.entity_id)
        .await
        .unwrap();
    assert_eq!(field_history.len(), 1);

    // Deactivation: the token stops working at once, and sign-in is refused.
    assert_eq!(a1.get("/api/v1/leads").await.status(), StatusCode::OK);
    let (status, _) = status_json(
        admin
            .patch(
                &format!("/api/v1/users/{}", org.agent_a1.0),
                json!({"active": false}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = a1.get_json("/api/v1/leads").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthenticated");
    assert_eq!(
        a1.post(
            "/api/v1/leads",
            json!({"name": "停用后", "phone": mobile(801)})
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .anonymous()
        .post(
            "/api/v1/auth/token",
            json!({"username": "agent_a1", "password": crate::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let last = leadline_store::audit::history(&app.db, "user", org.agent_a1.0)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.actor_id, Some(org.admin));
    assert_eq!(
        last.changes(),
        [("active".to_string(), json!(true), json!(false))]
    );
    // Reactivating does not revive the old token.
    let res = admin
        .patch(
            &format!("/api/v1/users/{}", org.agent_a1.0),
            json!({"active": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        a1.get("/api/v1/leads").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn only_admins_create_users_teams_and_fields_and_supervisors_may_read_users() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let new_user = json!({"username": "agent_new", "display_name": "新人", "role": "agent",
        "team_id": app.org.team_a.0, "password": "long-enough-1"});
    let new_team = json!({"name": "电销三组"});
    let new_field = json!({"key": "budget", "label_zh": "预算", "kind": "number"});
    for who in ["agent_a1", "sales1", "sup_a"] {
        let api = app.api(who).await;
        for (path, body) in [
            ("/api/v1/users", &new_user),
            ("/api/v1/teams", &new_team),
            ("/api/v1/custom-fields", &new_field),
        ] {
            let (status, resp) = status_json(api.post(path, body.clone()).await).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} POST {path}");
            assert_eq!(resp["code"], "forbidden");
        }
        let res = api
            .post(
                &format!("/api/v1/teams/{}/supervisors", app.org.team_a.0),
                json!({"user_id": app.org.sup_b.0}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "{who} sets supervisors"
        );
        let res = api
            .patch(
                &format!("/api/v1/users/{}", app.org.agent_a2.0),
                json!({"role": "admin"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who} changes a role");
        let expected = if who == "sup_a" {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            api.get("/api/v1/users").await.status(),
            expected,
            "{who} lists users"
        );
        assert_eq!(
            api.get("/api/v1/teams").await.status(),
            expected,
            "{who} lists teams"
        );
    }
    // Nothing was created by the refused calls; the admin can do each.
    let (_, users) = admin.get_json("/api/v1/users").await;
    assert_eq!(users["items"].as_array().unwrap().len(), 7);
    assert!(!users.to_string().contains("agent_new"));
    let (_, me) = admin.get_json("/api/v1/users").await;
    let a2 = me["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "agent_a2")
        .unwrap()
        .clone();
    assert_eq!(
        a2["role"], "agent",
        "the refused role change did not happen"
    );
    let (_, teams) = admin.get_json("/api/v1/teams").await;
    assert_eq!(teams["items"].as_array().unwrap().len(), 2);
    let (_, fields) = admin.get_json("/api/v1/custom-fields").await;
    assert_eq!(fields["items"], json!([]));
    for (path, body) in [
        ("/api/v1/users", &new_user),
        ("/api/v1/teams", &new_team),
        ("/api/v1/custom-fields", &new_field),
    ] {
        let (status, resp) = status_json(admin.post(path, body.clone()).await).await;
        assert_eq!(status, StatusCode::CREATED, "admin POST {path}: {resp}");
    }
    let sup_a = app.api("sup_a").await;
    let (status, users) = sup_a.get_json("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users["items"].as_array().unwrap().len(), 8);
    assert!(
        !users.to_string().contains("argon2"),
        "password hashes never leave the server"
    );
}
