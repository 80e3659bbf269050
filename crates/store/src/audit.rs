//! The audit trail: who changed what, when, with the record before and after.

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use serde::Serialize;
use serde_json::Value;

use crate::{Db, Result, db_run};

pub const INSERT: &str = "INSERT INTO audit_log (entity, entity_id, actor_id, action, before, after, at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// One change, written in the same transaction as the change itself.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub entity: &'static str,
    pub entity_id: i64,
    pub actor: Option<UserId>,
    pub action: &'static str,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub at: DateTime<Utc>,
}

impl AuditEntry {
    /// The arguments of [`INSERT`] for this entry.
    pub fn args(&self) -> Vec<crate::db::sql::Arg> {
        use crate::db::sql::Arg;
        vec![
            Arg::Text(self.entity.to_string()),
            Arg::I64(self.entity_id),
            Arg::OptI64(self.actor.map(|u| u.0)),
            Arg::Text(self.action.to_string()),
            Arg::OptJson(self.before.clone()),
            Arg::OptJson(self.after.clone()),
            Arg::Time(self.at),
        ]
    }
}

/// Writes an [`AuditEntry`] on a connection or transaction of either backend.
#[macro_export]
macro_rules! write_audit {
    ($conn:expr, $entry:expr) => {{
        let e: &$crate::audit::AuditEntry = &$entry;
        sqlx::query($crate::audit::INSERT)
            .bind(e.entity)
            .bind(e.entity_id)
            .bind(e.actor)
            .bind(e.action)
            .bind(e.before.as_ref().map(sqlx::types::Json))
            .bind(e.after.as_ref().map(sqlx::types::Json))
            .bind(e.at)
            .execute($conn)
            .await
    }};
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    pub entity: String,
    pub entity_id: i64,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub action: String,
    pub before: Option<sqlx::types::Json<Value>>,
    pub after: Option<sqlx::types::Json<Value>>,
    pub at: DateTime<Utc>,
}

impl AuditRecord {
    /// The fields whose value differs between before and after: (field, before, after).
    pub fn changes(&self) -> Vec<(String, Value, Value)> {
        let empty = serde_json::Map::new();
        let before = self
            .before
            .as_ref()
            .and_then(|j| j.0.as_object())
            .unwrap_or(&empty);
        let after = self
            .after
            .as_ref()
            .and_then(|j| j.0.as_object())
            .unwrap_or(&empty);
        let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| !matches!(k.as_str(), "version" | "updated_at"))
            .filter_map(|k| {
                let b = before.get(k).cloned().unwrap_or(Value::Null);
                let a = after.get(k).cloned().unwrap_or(Value::Null);
                (b != a).then(|| (k.clone(), b, a))
            })
            .collect()
    }
}

/// The history of one record, oldest first. A lead that an import brought in begins with that
/// import (who ran it, when, from which file), read from the lead and its import job: imports
/// write no audit row per lead.
pub async fn history(db: &Db, entity: &str, entity_id: i64) -> Result<Vec<AuditRecord>> {
    const SQL: &str = "SELECT a.id, a.entity, a.entity_id, a.actor_id, u.display_name AS actor_name, \
        a.action, a.before, a.after, a.at FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
        WHERE a.entity = $1 AND a.entity_id = $2 ORDER BY a.id";
    let mut records = db_run!(db, |pool| {
        sqlx::query_as::<_, AuditRecord>(SQL)
            .bind(entity)
            .bind(entity_id)
            .fetch_all(pool)
            .await?
    });
    if entity == "lead"
        && let Some(imported) = lead_import(db, entity_id).await?
    {
        records.insert(0, imported);
    }
    Ok(records)
}

/// The import that created lead `id`, as the first entry of its history.
async fn lead_import(db: &Db, id: i64) -> Result<Option<AuditRecord>> {
    type Row = (i64, Option<UserId>, Option<String>, String, DateTime<Utc>);
    const SQL: &str = "SELECT i.id, l.created_by, u.display_name, i.file_name, l.created_at \
        FROM leads l JOIN imports i ON i.id = l.import_id LEFT JOIN users u ON u.id = l.created_by \
        WHERE l.id = $1";
    let row: Option<Row> = db_run!(db, |pool| {
        sqlx::query_as(SQL).bind(id).fetch_optional(pool).await?
    });
    Ok(
        row.map(|(import, actor_id, actor_name, file, at)| AuditRecord {
            id: 0,
            entity: "lead".into(),
            entity_id: id,
            actor_id,
            actor_name,
            action: "import".into(),
            before: None,
            after: Some(sqlx::types::Json(
                serde_json::json!({"import": import, "file": file}),
            )),
            at,
        }),
    )
}

/// The latest changes to users, teams, fields and settings, newest first, for the admin pages.
pub async fn recent_admin_changes(db: &Db, limit: i64) -> Result<Vec<AuditRecord>> {
    const SQL: &str = "SELECT a.id, a.entity, a.entity_id, a.actor_id, u.display_name AS actor_name, \
        a.action, a.before, a.after, a.at FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
        WHERE a.entity <> 'lead' ORDER BY a.id DESC LIMIT $1";
    Ok(db_run!(db, |pool| {
        sqlx::query_as::<_, AuditRecord>(SQL)
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}
