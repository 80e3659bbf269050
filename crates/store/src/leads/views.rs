//! Saved views: a filter a user names and reuses.

use chrono::{DateTime, Utc};
use leadline_domain::{FieldProblem, UserId};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use super::filter::NON_FILTER_KEYS;
use crate::{Db, Result, StoreError, db_run, now};

/// Most keys a saved filter may hold (each key is one filter; a list of tags is one key).
pub const MAX_FILTER_KEYS: usize = 50;

/// A saved filter's pairs, in the list query's words: the filter must be a JSON object whose
/// values are text, numbers or booleans (a list of them stands for a comma-separated value), and
/// whose keys are filters, not the list's paging or sorting (`sort`, `cursor`, `view`…). Whether
/// each pair is a filter that parses is [`LeadFilter::from_pairs`](super::LeadFilter)'s to say.
pub fn filter_pairs(filter: &Value) -> Result<Vec<(String, String)>> {
    let Some(object) = filter.as_object() else {
        return Err(StoreError::invalid("filter", "invalid"));
    };
    if object.len() > MAX_FILTER_KEYS {
        return Err(StoreError::invalid("filter", "too_many"));
    }
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut pairs = Vec::with_capacity(object.len());
    let mut problems = Vec::new();
    for (key, value) in object {
        if NON_FILTER_KEYS.contains(&key.as_str()) {
            problems.push(FieldProblem {
                field: key.clone(),
                code: "unknown_filter",
            });
            continue;
        }
        let text = match value {
            Value::Array(items) => items
                .iter()
                .map(scalar)
                .collect::<Option<Vec<String>>>()
                .map(|items| items.join(",")),
            other => scalar(other),
        };
        match text {
            Some(text) => pairs.push((key.clone(), text)),
            None => problems.push(FieldProblem {
                field: key.clone(),
                code: "not_text",
            }),
        }
    }
    if problems.is_empty() {
        Ok(pairs)
    } else {
        Err(StoreError::Invalid(problems))
    }
}

/// The filter to save for a list query's pairs: its filters, without paging, sorting and blanks.
pub fn filter_of_query(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .filter(|(k, v)| !v.trim().is_empty() && !NON_FILTER_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    /// The filter as query-string pairs, e.g. `{"status": "new", "cf.industry": "教育"}`.
    pub filter: Json<Value>,
    pub created_at: DateTime<Utc>,
}

pub async fn list(db: &Db, user: UserId) -> Result<Vec<SavedView>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, filter, created_at FROM saved_views WHERE user_id = $1 ORDER BY name",
        )
        .bind(user)
        .fetch_all(pool)
        .await?
    }))
}

/// One of the user's own views; another user's view is `NotFound`.
pub async fn get(db: &Db, user: UserId, id: i64) -> Result<SavedView> {
    let v: Option<SavedView> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, filter, created_at FROM saved_views WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user)
        .fetch_optional(pool)
        .await?
    });
    v.ok_or(StoreError::NotFound)
}

/// Saves a view under a name, replacing the user's view of the same name. The filter must have
/// the shape [`filter_pairs`] reads, and is stored as its pairs read (every value text, a list
/// comma-separated), as the list query reads them back; the caller checks that the pairs parse
/// as a lead filter.
pub async fn save(db: &Db, user: UserId, name: &str, filter: &Value) -> Result<SavedView> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(StoreError::invalid("name", "required"));
    }
    let filter: Value = Value::Object(
        filter_pairs(filter)?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    );
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "INSERT INTO saved_views (user_id, name, filter, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, name) DO UPDATE SET filter = excluded.filter \
             RETURNING id, name, filter, created_at",
        )
        .bind(user)
        .bind(name)
        .bind(Json(&filter))
        .bind(now())
        .fetch_one(pool)
        .await?
    }))
}

pub async fn delete(db: &Db, user: UserId, id: i64) -> Result<()> {
    let n = db_run!(db, |pool| {
        sqlx::query("DELETE FROM saved_views WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}
