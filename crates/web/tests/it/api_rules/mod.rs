//! The business rules of F1/F2 through the real API: who sees and edits what, soft delete and
//! restore, custom-field validation, filters, counts and saved views, cursor pagination,
//! concurrent writes, the audit trail, admin-only actions, and schema parity of both backends.
//! The small helpers the rule families share live here.

mod administration;
mod classification;
mod concurrency;
mod custom_fields;
mod pagination;
mod schema_parity;
mod soft_delete;
mod visibility;

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{Api, TestApp};

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
