//! Saved column mappings: a name for the way a file's headers map to lead fields, reused on the
//! next import of a file like it.

use leadline_domain::UserId;
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use crate::{Db, Result, StoreError, db_run, now};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SavedMapping {
    pub id: i64,
    pub name: String,
    pub mapping: Json<Value>,
}

pub async fn save_mapping(
    db: &Db,
    actor: UserId,
    name: &str,
    mapping: &Value,
) -> Result<SavedMapping> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::invalid("name", "required"));
    }
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "INSERT INTO import_mappings (name, mapping, created_by, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET mapping = excluded.mapping RETURNING id, name, mapping",
        )
        .bind(name)
        .bind(Json(mapping))
        .bind(actor)
        .bind(now())
        .fetch_one(pool)
        .await?
    }))
}

pub async fn mappings(db: &Db) -> Result<Vec<SavedMapping>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as("SELECT id, name, mapping FROM import_mappings ORDER BY name")
            .fetch_all(pool)
            .await?
    }))
}
