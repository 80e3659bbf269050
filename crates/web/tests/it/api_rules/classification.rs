//! Classification, statistics and saved views over six classified leads: filters alone and
//! combined, counts grouped by any field, and views for their owner only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{clone_api, create_fields, id_of, listed, problems, sorted, status_json, time};
use crate::api_leads::urlencode;
use crate::helpers::{Api, TestApp, mobile};

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
