//! The business rules of F1/F2 through the real API: who sees and edits what, soft delete and
//! restore, custom-field validation, filters, counts and saved views, cursor pagination,
//! concurrent writes, the audit trail, admin-only actions, and schema parity of both backends.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::api_leads::urlencode;
use crate::helpers::{Api, TestApp, mobile};

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

async fn status_json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The ids of a list page's items, in order.
fn item_ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list page: {page}"))
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect()
}

fn id_of(lead: &Value) -> i64 {
    lead["id"].as_i64().unwrap()
}

/// The (field, code) pairs of a 422 answer.
fn problems(body: &Value) -> Vec<(String, String)> {
    body["details"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("a 422 body with problems: {body}"))
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().to_string(),
                p["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A `/leads/counts` answer as value → count.
fn groups(body: &Value) -> BTreeMap<Option<String>, i64> {
    body["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("a counts body: {body}"))
        .iter()
        .map(|g| {
            (
                g["value"].as_str().map(str::to_string),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn expect_groups(pairs: &[(Option<&str>, i64)]) -> BTreeMap<Option<String>, i64> {
    pairs
        .iter()
        .map(|(v, n)| (v.map(str::to_string), *n))
        .collect()
}

/// The ids a viewer gets for a list query (one big page), sorted.
async fn listed(api: &Api, query: &str) -> Vec<i64> {
    let sep = if query.is_empty() { "" } else { "&" };
    let (status, page) = api
        .get_json(&format!("/api/v1/leads?limit=200{sep}{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "list ?{query}: {page}");
    let mut ids = item_ids(&page);
    ids.sort_unstable();
    ids
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

/// Another handle on the same authenticated client, for use in a spawned task.
fn clone_api(api: &Api) -> Api {
    Api {
        http: api.http.clone(),
        base: api.base.clone(),
        token: api.token.clone(),
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn user_id(app: &TestApp, username: &str) -> UserId {
    let o = &app.org;
    match username {
        "admin" => o.admin,
        "sup_a" => o.sup_a,
        "sup_b" => o.sup_b,
        "agent_a1" => o.agent_a1,
        "agent_a2" => o.agent_a2,
        "agent_b1" => o.agent_b1,
        "sales1" => o.sales,
        other => panic!("no fixture user {other}"),
    }
}

async fn create_fields(admin: &Api, fields: &[Value]) {
    for f in fields {
        let (status, body) =
            status_json(admin.post("/api/v1/custom-fields", f.clone()).await).await;
        assert_eq!(status, StatusCode::CREATED, "creating field {f}: {body}");
    }
}

// ---------------------------------------------------------------------------------------------
// Who sees what
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Soft delete and restore
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn only_supervisors_and_admins_soft_delete_and_restore_and_history_records_it_all() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let sup_a = app.api("sup_a").await;
    let sup_b = app.api("sup_b").await;
    let admin = app.api("admin").await;
    let lead = a1
        .create_lead(json!({"name": "待删客户", "phone": mobile(300), "company": "旧公司"}))
        .await;
    let id = id_of(&lead);
    let path = format!("/api/v1/leads/{id}");
    let res = a1
        .patch(&path, json!({"company": "新公司", "version": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let (status, body) = status_json(a1.delete(&path).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an agent may not delete");
    assert_eq!(body["code"], "forbidden");
    assert_eq!(a1.get(&path).await.status(), StatusCode::OK, "still there");
    let pool = a1
        .create_lead(json!({"name": "公海", "phone": mobile(301), "pool": true}))
        .await;
    assert_eq!(
        a1.delete(&format!("/api/v1/leads/{}", pool["id"]))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "not even a pool lead"
    );
    assert_eq!(a2.delete(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        sup_b.delete(&path).await.status(),
        StatusCode::NOT_FOUND,
        "another team's supervisor does not see it"
    );
    let (_, before_counts) = sup_a.get_json("/api/v1/leads/counts").await;

    let (status, deleted) = status_json(sup_a.delete(&path).await).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(deleted["deleted_at"].is_string());

    let (status, body) = a1.get_json(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    assert!(!body.to_string().contains("待删客户"));
    assert_eq!(
        a1.get(&format!("{path}/history")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a1.patch(&path, json!({"company": "改不了"})).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(!listed(&a1, "").await.contains(&id));
    assert!(
        !listed(&a1, "deleted=true").await.contains(&id),
        "agents do not see the bin"
    );
    assert!(!listed(&sup_a, "").await.contains(&id));
    assert!(!listed(&admin, "").await.contains(&id));
    let (_, after_counts) = sup_a.get_json("/api/v1/leads/counts").await;
    assert_eq!(
        after_counts["total"].as_i64().unwrap(),
        before_counts["total"].as_i64().unwrap() - 1
    );
    assert_eq!(listed(&sup_a, "deleted=true").await, [id]);
    assert_eq!(listed(&admin, "deleted=true").await, [id]);
    assert!(listed(&sup_b, "deleted=true").await.is_empty());
    let (status, seen) = sup_a.get_json(&path).await;
    assert_eq!(status, StatusCode::OK, "the supervisor can inspect it");
    assert!(seen["deleted_at"].is_string());

    let res = a1.post(&format!("{path}/restore"), json!({})).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "an agent may not restore"
    );
    let res = sup_b.post(&format!("{path}/restore"), json!({})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (status, restored) =
        status_json(sup_a.post(&format!("{path}/restore"), json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert!(restored["deleted_at"].is_null());
    let (status, back) = a1.get_json(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(back["company"], "新公司", "restored with its data");
    assert!(listed(&a1, "").await.contains(&id));
    assert!(listed(&sup_a, "deleted=true").await.is_empty());

    let (status, history) = a1.get_json(&format!("{path}/history")).await;
    assert_eq!(status, StatusCode::OK);
    let changes = history["changes"].as_array().unwrap();
    let actions: Vec<&str> = changes
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update", "delete", "restore"]);
    let actors: Vec<&str> = changes
        .iter()
        .map(|c| c["actor_name"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["张伟", "张伟", "王主管", "王主管"]);
    assert_eq!(changes[0]["actor_id"], app.org.agent_a1.0);
    assert_eq!(changes[2]["actor_id"], app.org.sup_a.0);
    assert!(changes[0]["before"].is_null());
    assert_eq!(changes[0]["after"]["name"], "待删客户");
    assert_eq!(changes[0]["after"]["company"], "旧公司");
    assert_eq!(changes[1]["before"]["company"], "旧公司");
    assert_eq!(changes[1]["after"]["company"], "新公司");
    assert_eq!(changes[2]["before"]["deleted"], false);
    assert_eq!(changes[2]["after"]["deleted"], true);
    assert_eq!(changes[3]["before"]["deleted"], true);
    assert_eq!(changes[3]["after"]["deleted"], false);
    for c in changes {
        assert!(c["at"].is_string(), "every change has a time: {c}");
    }
}

// ---------------------------------------------------------------------------------------------
// Custom fields
// ---------------------------------------------------------------------------------------------

fn every_kind_of_field() -> Vec<Value> {
    vec![
        json!({"key": "industry", "label_zh": "行业", "label_en": "Industry", "kind": "select",
            "required": true, "options": ["教育", "金融", "制造"]}),
        json!({"key": "budget", "label_zh": "预算", "label_en": "Budget", "kind": "number"}),
        json!({"key": "visit_date", "label_zh": "拜访日期", "kind": "date"}),
        json!({"key": "products", "label_zh": "意向产品", "kind": "multi_select",
            "options": ["CRM", "呼叫中心", "短信"]}),
        json!({"key": "backup_phone", "label_zh": "备用电话", "kind": "phone"}),
        json!({"key": "contact_email", "label_zh": "邮箱", "kind": "email"}),
        json!({"key": "remark", "label_zh": "备注", "kind": "text"}),
    ]
}

#[tokio::test]
async fn custom_fields_of_every_kind_are_validated_on_create_and_patch_and_stored_canonically() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let a1 = app.api("agent_a1").await;
    let sup_a = app.api("sup_a").await;
    let fields = every_kind_of_field();
    for who in [&a1, &sup_a] {
        let res = who.post("/api/v1/custom-fields", fields[0].clone()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let (_, list) = a1.get_json("/api/v1/custom-fields").await;
    assert_eq!(list["items"], json!([]), "refused creations stored nothing");
    create_fields(&admin, &fields).await;
    let (status, list) = a1.get_json("/api/v1/custom-fields").await;
    assert_eq!(status, StatusCode::OK, "everyone may read the definitions");
    let listed_fields: Vec<(&str, &str, bool)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap(),
                f["kind"].as_str().unwrap(),
                f["required"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed_fields,
        [
            ("industry", "select", true),
            ("budget", "number", false),
            ("visit_date", "date", false),
            ("products", "multi_select", false),
            ("backup_phone", "phone", false),
            ("contact_email", "email", false),
            ("remark", "text", false),
        ]
    );
    let res = admin.post("/api/v1/custom-fields", fields[1].clone()).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "keys are unique");
    let res = admin
        .post(
            "/api/v1/custom-fields",
            json!({"key": "grade", "label_zh": "等级", "kind": "select"}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a select needs options"
    );
    let res = admin
        .post(
            "/api/v1/custom-fields",
            json!({"key": "grade", "label_zh": "等级", "kind": "colour"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Creation: the required field must be there, every value must fit its kind.
    let (status, body) = status_json(
        a1.post(
            "/api/v1/leads",
            json!({"name": "缺行业", "phone": mobile(1)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "invalid_input");
    assert_eq!(problems(&body), [("industry".into(), "required".into())]);
    let bad: [(&str, Value, &str); 7] = [
        ("budget", json!("很多"), "not_a_number"),
        ("visit_date", json!("2026-02-30"), "bad_date"),
        ("industry", json!("餐饮"), "not_an_option"),
        ("products", json!(["CRM", "传真"]), "not_an_option"),
        ("backup_phone", json!("12345"), "bad_phone"),
        ("contact_email", json!("not-an-email"), "bad_email"),
        ("colour", json!("red"), "unknown_field"),
    ];
    let mut all_bad = serde_json::Map::new();
    for (key, value, code) in &bad {
        let mut custom = json!({"industry": "教育"});
        custom[*key] = value.clone();
        all_bad.insert(key.to_string(), value.clone());
        let (status, body) = status_json(
            a1.post(
                "/api/v1/leads",
                json!({"name": "坏值", "phone": mobile(1), "custom": custom}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{key}={value}");
        assert_eq!(problems(&body), [(key.to_string(), code.to_string())]);
    }
    let (status, body) = status_json(
        a1.post(
            "/api/v1/leads",
            json!({"name": "全坏", "phone": mobile(1), "custom": all_bad}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: BTreeSet<String> = problems(&body).into_iter().map(|(f, _)| f).collect();
    let expected: BTreeSet<String> = bad.iter().map(|(k, _, _)| k.to_string()).collect();
    assert_eq!(named, expected, "every bad field is named at once");
    assert!(listed(&a1, "").await.is_empty(), "nothing was stored");

    // Good values are stored in canonical form.
    let lead = a1
        .create_lead(json!({"name": "好值", "phone": mobile(1), "custom": {
            "industry": "金融", "budget": "1,250,000", "visit_date": "2026/03/05",
            "products": "CRM，短信", "backup_phone": "0755-8601 3388",
            "contact_email": " Li.Na@Example.COM ", "remark": "  老客户介绍  "}}))
        .await;
    let canonical = json!({
        "industry": "金融", "budget": 1250000, "visit_date": "2026-03-05",
        "products": ["CRM", "短信"], "backup_phone": "+8675586013388",
        "contact_email": "li.na@example.com", "remark": "老客户介绍"});
    assert_eq!(lead["custom"], canonical);
    assert!(lead["custom"]["budget"].is_number());
    let path = format!("/api/v1/leads/{}", lead["id"]);
    let (_, fetched) = a1.get_json(&path).await;
    assert_eq!(fetched["custom"], canonical, "read back the same");

    // Patching checks the merged values the same way and writes nothing when refused.
    for (custom, field, code) in [
        (json!({"budget": "abc"}), "budget", "not_a_number"),
        (json!({"industry": null}), "industry", "required"),
        (json!({"colour": "red"}), "colour", "unknown_field"),
        (json!({"contact_email": "x@"}), "contact_email", "bad_email"),
        (json!({"visit_date": "明天"}), "visit_date", "bad_date"),
        (json!({"backup_phone": "abc"}), "backup_phone", "bad_phone"),
        (json!({"products": ["传真"]}), "products", "not_an_option"),
    ] {
        let (status, body) = status_json(a1.patch(&path, json!({"custom": custom})).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "patch {custom}");
        assert_eq!(problems(&body), [(field.to_string(), code.to_string())]);
    }
    let (_, unchanged) = a1.get_json(&path).await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["custom"], canonical);
    let (status, patched) = status_json(
        a1.patch(
            &path,
            json!({"custom": {"budget": 99.5, "products": ["呼叫中心"], "remark": null,
                "visit_date": "2026-04-01"}, "version": 1}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["custom"],
        json!({"industry": "金融", "budget": 99.5, "visit_date": "2026-04-01",
            "products": ["呼叫中心"], "backup_phone": "+8675586013388",
            "contact_email": "li.na@example.com"}),
        "named fields change, null clears, the rest is kept"
    );
}

// ---------------------------------------------------------------------------------------------
// Classification, statistics and saved views
// ---------------------------------------------------------------------------------------------

struct Classified {
    app: TestApp,
    a1: Api,
    a2: Api,
    sup_a: Api,
    admin: Api,
    /// L1..L6 by index 0..5.
    leads: Vec<Value>,
}

impl Classified {
    fn ids(&self, which: &[usize]) -> Vec<i64> {
        sorted(which.iter().map(|i| id_of(&self.leads[*i - 1])).collect())
    }
}

/// Six leads: L1–L3 by agent_a1, L4 by agent_a2, L5 by agent_b1, L6 in the pool; L4–L6 are
/// created strictly later than L1–L3.
async fn classified() -> Classified {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let b1 = app.api("agent_b1").await;
    let sup_a = app.api("sup_a").await;
    create_fields(
        &admin,
        &[
            json!({"key": "industry", "label_zh": "行业", "kind": "select",
                "options": ["教育", "金融", "制造"]}),
            json!({"key": "products", "label_zh": "意向产品", "kind": "multi_select",
                "options": ["CRM", "呼叫中心", "短信"]}),
        ],
    )
    .await;
    let specs = [
        (
            &a1,
            json!({"name": "L1", "status": "new", "intent": "interested", "source": "展会",
            "city": "北京", "tags": ["VIP"], "custom": {"industry": "教育", "products": ["CRM"]}}),
        ),
        (
            &a1,
            json!({"name": "L2", "status": "contacted", "intent": "positive", "source": "网络",
            "city": "上海", "tags": ["VIP", "老客户"],
            "custom": {"industry": "金融", "products": ["CRM", "短信"]}}),
        ),
        (
            &a1,
            json!({"name": "L3", "status": "new", "intent": "resistant", "source": "展会",
            "city": "上海", "custom": {"industry": "教育"}}),
        ),
        (
            &a2,
            json!({"name": "L4", "status": "new", "intent": "interested", "source": "展会",
            "city": "北京", "tags": ["VIP"], "custom": {"industry": "制造", "products": ["短信"]}}),
        ),
        (
            &b1,
            json!({"name": "L5", "status": "qualified", "intent": "strong_demand",
            "source": "转介绍", "city": "北京", "tags": ["VIP"],
            "custom": {"industry": "教育", "products": ["CRM"]}}),
        ),
        (
            &a1,
            json!({"name": "L6", "status": "new", "source": "网络", "city": "广州", "pool": true,
            "custom": {"industry": "金融"}}),
        ),
    ];
    let mut leads = Vec::new();
    for (i, (api, mut body)) in specs.into_iter().enumerate() {
        body["phone"] = json!(mobile(500 + i as u32));
        if i == 3 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        leads.push(api.create_lead(body).await);
    }
    Classified {
        app,
        a1,
        a2,
        sup_a,
        admin,
        leads,
    }
}

#[tokio::test]
async fn leads_are_filtered_by_every_classification_alone_and_combined() {
    let c = classified().await;
    let (a2_id, b1_id) = (c.app.org.agent_a2.0, c.app.org.agent_b1.0);
    let admin_cases: Vec<(String, Vec<usize>)> = vec![
        ("".into(), vec![1, 2, 3, 4, 5, 6]),
        ("status=new".into(), vec![1, 3, 4, 6]),
        ("status=new,contacted".into(), vec![1, 2, 3, 4, 6]),
        (format!("status={}", urlencode("已合格")), vec![5]),
        ("intent=interested".into(), vec![1, 4]),
        (format!("intent={}", urlencode("需求强烈")), vec![5]),
        (format!("owner={a2_id}"), vec![4]),
        ("owner=pool".into(), vec![6]),
        (format!("source={}", urlencode("展会")), vec![1, 3, 4]),
        (format!("city={}", urlencode("北京")), vec![1, 4, 5]),
        ("tag=VIP".into(), vec![1, 2, 4, 5]),
        (format!("tag=VIP&tag={}", urlencode("老客户")), vec![2]),
        (format!("cf.industry={}", urlencode("教育")), vec![1, 3, 5]),
        ("cf.products=CRM".into(), vec![1, 2, 5]),
        (format!("cf.products={}", urlencode("短信")), vec![2, 4]),
        (format!("cf.products={}", urlencode("呼叫中心")), vec![]),
        (
            format!(
                "status=new&city={}&tag=VIP&cf.industry={}",
                urlencode("北京"),
                urlencode("教育")
            ),
            vec![1],
        ),
        (
            format!(
                "source={}&cf.products={}",
                urlencode("展会"),
                urlencode("短信")
            ),
            vec![4],
        ),
    ];
    for (query, expected) in &admin_cases {
        assert_eq!(
            listed(&c.admin, query).await,
            c.ids(expected),
            "admin ?{query}"
        );
    }
    // The same filters never widen what a viewer may see.
    let a1_cases: Vec<(String, Vec<usize>)> = vec![
        ("".into(), vec![1, 2, 3, 6]),
        ("owner=me".into(), vec![1, 2, 3]),
        ("owner=pool".into(), vec![6]),
        (format!("owner={a2_id}"), vec![]),
        ("tag=VIP".into(), vec![1, 2]),
        (format!("source={}&owner=me", urlencode("展会")), vec![1, 3]),
        (format!("cf.industry={}", urlencode("金融")), vec![2, 6]),
    ];
    for (query, expected) in &a1_cases {
        assert_eq!(
            listed(&c.a1, query).await,
            c.ids(expected),
            "agent_a1 ?{query}"
        );
    }
    assert_eq!(
        listed(&c.sup_a, &format!("owner={a2_id}")).await,
        c.ids(&[4])
    );
    assert!(listed(&c.sup_a, &format!("owner={b1_id}")).await.is_empty());
    assert_eq!(
        listed(&c.sup_a, "tag=VIP").await,
        c.ids(&[1, 2, 4]),
        "not team B's L5"
    );

    // Creation time: RFC 3339 instants and China-time days.
    let split = urlencode(c.leads[3]["created_at"].as_str().unwrap());
    assert_eq!(
        listed(&c.admin, &format!("created_from={split}")).await,
        c.ids(&[4, 5, 6])
    );
    assert_eq!(
        listed(&c.admin, &format!("created_to={split}")).await,
        c.ids(&[1, 2, 3])
    );
    let china_day =
        |lead: &Value| (time(&lead["created_at"]) + chrono::Duration::hours(8)).date_naive();
    let (first, last) = (china_day(&c.leads[0]), china_day(&c.leads[5]));
    assert_eq!(
        listed(&c.admin, &format!("created_from={first}&created_to={last}")).await,
        c.ids(&[1, 2, 3, 4, 5, 6]),
        "days are inclusive"
    );
    let before = first.pred_opt().unwrap();
    let after = last.succ_opt().unwrap();
    assert!(
        listed(&c.admin, &format!("created_to={before}"))
            .await
            .is_empty()
    );
    assert!(
        listed(&c.admin, &format!("created_from={after}"))
            .await
            .is_empty()
    );
    assert_eq!(
        listed(
            &c.admin,
            &format!("created_from={split}&status=new&city={}", urlencode("北京"))
        )
        .await,
        c.ids(&[4])
    );

    // Bad filters are named, not ignored.
    for (query, field) in [
        ("status=sold", "status"),
        ("intent=maybe", "intent"),
        ("owner=somebody", "owner"),
        ("created_from=yesterday", "created_from"),
        ("cf.colour=red", "cf.colour"),
        ("colour=red", "colour"),
        ("sort=price", "sort"),
    ] {
        let (status, body) = c.admin.get_json(&format!("/api/v1/leads?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "?{query}");
        assert_eq!(problems(&body)[0].0, field, "?{query}: {body}");
    }
}

#[tokio::test]
async fn counts_group_by_any_field_for_the_filter_and_only_over_what_the_viewer_sees() {
    let c = classified().await;
    let id = |u: UserId| Some(u.0.to_string());
    let org = &c.app.org;
    let counts = |api: &Api, query: String| {
        let api = clone_api(api);
        async move {
            let (status, body) = api.get_json(&format!("/api/v1/leads/counts?{query}")).await;
            assert_eq!(status, StatusCode::OK, "counts ?{query}: {body}");
            // For single-valued fields every lead is in exactly one group. (Tags and
            // multi-selects count a lead once per value, so their sum is not a lead count.)
            if !query.contains("group_by=tag") && !query.contains("group_by=cf.products") {
                let sum: i64 = groups(&body).values().sum();
                assert_eq!(body["total"], sum, "total is the sum of the groups");
            }
            groups(&body)
        }
    };

    assert_eq!(
        counts(&c.admin, "group_by=status".into()).await,
        expect_groups(&[
            (Some("new"), 4),
            (Some("contacted"), 1),
            (Some("qualified"), 1)
        ])
    );
    assert_eq!(
        counts(&c.a1, "group_by=status".into()).await,
        expect_groups(&[(Some("new"), 3), (Some("contacted"), 1)]),
        "an agent's counts leave out other agents' leads"
    );
    assert_eq!(
        counts(&c.admin, "group_by=owner".into()).await,
        BTreeMap::from([
            (id(org.agent_a1), 3),
            (id(org.agent_a2), 1),
            (id(org.agent_b1), 1),
            (None, 1),
        ])
    );
    assert_eq!(
        counts(&c.a1, "group_by=owner".into()).await,
        BTreeMap::from([(id(org.agent_a1), 3), (None, 1)])
    );
    assert_eq!(
        counts(&c.a2, "group_by=owner".into()).await,
        BTreeMap::from([(id(org.agent_a2), 1), (None, 1)])
    );
    assert_eq!(
        counts(&c.sup_a, "group_by=owner".into()).await,
        BTreeMap::from([(id(org.agent_a1), 3), (id(org.agent_a2), 1), (None, 1)]),
        "a supervisor counts its team and the pool"
    );
    assert_eq!(
        counts(&c.admin, "group_by=tag".into()).await,
        expect_groups(&[(Some("VIP"), 4), (Some("老客户"), 1), (None, 2)])
    );
    assert_eq!(
        counts(&c.a1, "group_by=tag".into()).await,
        expect_groups(&[(Some("VIP"), 2), (Some("老客户"), 1), (None, 2)])
    );
    assert_eq!(
        counts(&c.admin, "group_by=cf.industry".into()).await,
        expect_groups(&[(Some("教育"), 3), (Some("金融"), 2), (Some("制造"), 1)])
    );
    assert_eq!(
        counts(&c.a1, "group_by=cf.industry".into()).await,
        expect_groups(&[(Some("教育"), 2), (Some("金融"), 2)])
    );
    assert_eq!(
        counts(&c.admin, "group_by=cf.products".into()).await,
        expect_groups(&[(Some("CRM"), 3), (Some("短信"), 2)]),
        "a multi-select counts each chosen option"
    );
    // A month is the viewer's: L1 and L2, created at 20:00 UTC on 31 October, are November's
    // in Shanghai (UTC+8, everyone's zone here) and October's for agent_a1 once set to UTC.
    let created = |id: i64, at: &str| {
        let db = c.app.db.clone();
        let at: DateTime<Utc> = at.parse().unwrap();
        async move {
            leadline_store::db_run!(&db, |pool| sqlx::query(
                "UPDATE leads SET created_at = $1 WHERE id = $2"
            )
            .bind(at)
            .bind(id)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected());
        }
    };
    for (i, lead) in c.leads.iter().enumerate() {
        let at = if i < 2 {
            "2026-10-31T20:00:00Z"
        } else {
            "2026-11-15T12:00:00Z"
        };
        created(id_of(lead), at).await;
    }
    assert_eq!(
        counts(&c.admin, "group_by=created_month".into()).await,
        expect_groups(&[(Some("2026-11"), 6)])
    );
    assert_eq!(
        counts(&c.a1, "group_by=created_month".into()).await,
        expect_groups(&[(Some("2026-11"), 4)])
    );
    let db = c.app.db.clone();
    leadline_store::db_run!(&db, |pool| sqlx::query(
        "UPDATE users SET time_zone = 'UTC' WHERE username = 'agent_a1'"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert_eq!(
        counts(&c.a1, "group_by=created_month".into()).await,
        expect_groups(&[(Some("2026-10"), 2), (Some("2026-11"), 2)])
    );
    // With a filter.
    assert_eq!(
        counts(
            &c.admin,
            format!("group_by=status&city={}", urlencode("北京"))
        )
        .await,
        expect_groups(&[(Some("new"), 2), (Some("qualified"), 1)])
    );
    assert_eq!(
        counts(&c.admin, "group_by=cf.industry&tag=VIP".into()).await,
        expect_groups(&[(Some("教育"), 2), (Some("金融"), 1), (Some("制造"), 1)])
    );
    assert_eq!(
        counts(&c.sup_a, "group_by=status&intent=interested".into()).await,
        expect_groups(&[(Some("new"), 2)])
    );
    let (status, body) = c
        .admin
        .get_json("/api/v1/leads/counts?group_by=colour")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problems(&body),
        [("group_by".into(), "unknown_field".into())]
    );
    let (status, _) = c
        .admin
        .get_json("/api/v1/leads/counts?group_by=cf.colour")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn saved_views_apply_their_filter_for_their_owner_only() {
    let c = classified().await;
    let (status, view) = status_json(
        c.a1.post(
            "/api/v1/views",
            json!({"name": "北京VIP", "filter": {"city": "北京", "tag": "VIP"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    let view_id = view["id"].as_i64().unwrap();
    let (_, mine) = c.a1.get_json("/api/v1/views").await;
    let names: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["北京VIP"]);
    assert_eq!(
        mine["items"][0]["filter"],
        json!({"city": "北京", "tag": "VIP"})
    );
    assert_eq!(
        listed(&c.a1, &format!("view={view_id}")).await,
        c.ids(&[1]),
        "the view's filter, within what the agent sees"
    );
    assert!(
        listed(&c.a1, &format!("view={view_id}&status=contacted"))
            .await
            .is_empty(),
        "request filters narrow a view further"
    );
    let (_, counted) =
        c.a1.get_json(&format!(
            "/api/v1/leads/counts?view={view_id}&group_by=status"
        ))
        .await;
    assert_eq!(groups(&counted), expect_groups(&[(Some("new"), 1)]));

    let (status, admin_view) = status_json(
        c.admin
            .post(
                "/api/v1/views",
                json!({"name": "新教育", "filter": {"status": "new", "cf.industry": "教育"}}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        listed(&c.admin, &format!("view={}", admin_view["id"])).await,
        c.ids(&[1, 3])
    );

    // Another user can neither use, see nor delete my view.
    for other in [&c.a2, &c.admin] {
        let (status, body) = other
            .get_json(&format!("/api/v1/leads?view={view_id}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "not_found");
        let (status, _) = other
            .get_json(&format!("/api/v1/leads/counts?view={view_id}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            other
                .delete(&format!("/api/v1/views/{view_id}"))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }
    let (_, theirs) = c.a2.get_json("/api/v1/views").await;
    assert_eq!(theirs["items"], json!([]));
    assert_eq!(
        listed(&c.a1, &format!("view={view_id}")).await,
        c.ids(&[1]),
        "still works for its owner"
    );

    // A view with a bad filter is refused and not saved.
    for filter in [
        json!({"status": "sold"}),
        json!({"cf.colour": "red"}),
        json!({"created_from": "someday"}),
    ] {
        let (status, body) = status_json(
            c.a1.post("/api/v1/views", json!({"name": "坏视图", "filter": filter}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{filter}: {body}");
        assert!(!problems(&body).is_empty());
    }
    let (_, mine) = c.a1.get_json("/api/v1/views").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    assert_eq!(
        c.a1.delete(&format!("/api/v1/views/{view_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.a1.get(&format!("/api/v1/leads?view={view_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------------
// Cursor pagination
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Audit of administration, deactivation
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Admin-only actions
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Schema parity
// ---------------------------------------------------------------------------------------------

type Schema = BTreeMap<String, BTreeSet<String>>;

async fn sqlite_schema(db: &leadline_store::Db) -> Schema {
    let leadline_store::Db::Sqlite(pool) = db else {
        panic!("a SQLite database");
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' ORDER BY m.name, p.cid",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let fts: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(
        fts.iter().any(|t| t == "lead_search"),
        "the lead search index exists"
    );
    let mut schema = Schema::new();
    for (table, column) in rows {
        // sqlx's bookkeeping, SQLite's own tables, and the FTS5 indexes with their shadow
        // tables (PostgreSQL keeps the same tokens in tsvector columns instead).
        if table == "_sqlx_migrations"
            || table.starts_with("sqlite_")
            || fts
                .iter()
                .any(|f| table == *f || table.starts_with(&format!("{f}_")))
        {
            continue;
        }
        schema.entry(table).or_default().insert(column);
    }
    schema
}

async fn postgres_schema(db: &leadline_store::Db) -> Schema {
    let leadline_store::Db::Postgres(pool) = db else {
        panic!("a PostgreSQL database");
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (table, column) in rows {
        // sqlx's bookkeeping and PostgreSQL's own search indexes (SQLite's are its FTS5 tables,
        // left out above): the lead search tokens and the knowledge search postings.
        if table == "_sqlx_migrations"
            || table == "search_postings"
            || (table == "leads" && column == "search_tokens")
        {
            continue;
        }
        schema.entry(table).or_default().insert(column);
    }
    schema
}

#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    use leadline_store::db::test_db::{TestDb, postgres_url};
    let sqlite = TestDb::sqlite().await.unwrap();
    let lite = sqlite_schema(&sqlite.db).await;
    let core = [
        "teams",
        "users",
        "team_supervisors",
        "sessions",
        "api_tokens",
        "login_failures",
        "custom_fields",
        "leads",
        "lead_phones",
        "lead_tags",
        "collisions",
        "saved_views",
        "audit_log",
        "settings",
        "calls",
    ];
    for table in core {
        assert!(lite.contains_key(table), "SQLite has {table}");
    }
    for column in [
        "owner_id",
        "custom",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
    ] {
        assert!(lite["leads"].contains(column), "leads.{column}");
    }
    // Without a PostgreSQL server only SQLite is checked here; the cross-check runs in the
    // PostgreSQL pass (LEADLINE_TEST_POSTGRES_URL set), and CI runs both.
    let Some(url) = postgres_url() else {
        return;
    };
    let pg = TestDb::postgres(&url).await.unwrap();
    let postgres = postgres_schema(&pg.db).await;
    let tables = |s: &Schema| s.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(tables(&lite), tables(&postgres), "the same tables");
    for (table, columns) in &lite {
        assert_eq!(
            Some(columns),
            postgres.get(table),
            "the same columns in {table}"
        );
    }
}
