//! Saved views: a filter a user names and reuses.

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use crate::{Db, Result, StoreError, db_run, now};

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

/// Saves a view under a name, replacing the user's view of the same name.
pub async fn save(db: &Db, user: UserId, name: &str, filter: &Value) -> Result<SavedView> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(StoreError::invalid("name", "required"));
    }
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "INSERT INTO saved_views (user_id, name, filter, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, name) DO UPDATE SET filter = excluded.filter \
             RETURNING id, name, filter, created_at",
        )
        .bind(user)
        .bind(name)
        .bind(Json(filter))
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
