//! Call quality checks (质检, issue 24): the checklist admins configure (items from the service
//! rules, each worth some points) and, in [`reviews`], a supervisor's review of one call scored
//! against it. A retired item stays on the reviews that scored it.

pub mod reviews;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use leadline_domain::quality::{CheckItem, MAX_ITEM_POINTS};
use leadline_domain::{Role, Viewer};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The longest label or code.
pub const MAX_LABEL: usize = 60;

/// Every checklist item, retired ones included, in checklist order.
pub async fn items(db: &Db) -> Result<Vec<CheckItem>> {
    type ItemRow = (i64, String, String, String, i64, i64, bool);
    let rows: Vec<ItemRow> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT id, code, label_zh, label_en, max_score, position, active FROM qc_items \
             ORDER BY position, id",
        )
        .fetch_all(p)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(id, code, label_zh, label_en, max_score, position, active)| CheckItem {
                id,
                code,
                label_zh,
                label_en,
                max_score,
                position,
                active,
            },
        )
        .collect())
}

/// A new item, or a change to one (`None` keeps what is there).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ItemInput {
    pub code: Option<String>,
    pub label_zh: Option<String>,
    pub label_en: Option<String>,
    pub max_score: Option<i64>,
    pub active: Option<bool>,
}

fn text(field: &str, v: &Option<String>, required: bool) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") if required => Err(StoreError::invalid(field, "required")),
        None => Ok(None),
        Some(s) if s.is_empty() || s.chars().count() > MAX_LABEL => {
            Err(StoreError::invalid(field, "invalid"))
        }
        Some(s) => Ok(Some(s.to_string())),
    }
}

fn points(v: Option<i64>, required: bool) -> Result<Option<i64>> {
    match v {
        None if required => Err(StoreError::invalid("max_score", "required")),
        Some(n) if !(1..=MAX_ITEM_POINTS).contains(&n) => {
            Err(StoreError::invalid("max_score", "out_of_range"))
        }
        v => Ok(v),
    }
}

fn admin_only(viewer: &Viewer) -> Result<()> {
    if viewer.role == Role::Admin {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// Adds an item at the end of the checklist (admin). A code taken is `AlreadyExists("code")`.
pub async fn add_item(
    db: &Db,
    viewer: &Viewer,
    input: &ItemInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    admin_only(viewer)?;
    let code = text("code", &input.code, true)?.unwrap_or_default();
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(StoreError::invalid("code", "invalid"));
    }
    let zh = text("label_zh", &input.label_zh, true)?.unwrap_or_default();
    let en = text("label_en", &input.label_en, true)?.unwrap_or_default();
    let max = points(input.max_score, true)?.unwrap_or_default();
    let actor = viewer.user_id;
    in_tx!(db, |tx| async move {
        let next = tx
            .fetch_one("SELECT COALESCE(MAX(position), 0) + 1 FROM qc_items", &[])
            .await?
            .i64(0)?;
        let id = tx
            .fetch_one_unique(
                "INSERT INTO qc_items (code, label_zh, label_en, max_score, position, active) \
                 VALUES ($1, $2, $3, $4, $5, TRUE) RETURNING id",
                &[
                    Arg::Text(code.clone()),
                    Arg::Text(zh.clone()),
                    Arg::Text(en.clone()),
                    Arg::I64(max),
                    Arg::I64(next),
                ],
                "code",
            )
            .await?
            .i64(0)?;
        audit_item(
            tx,
            id,
            actor,
            "create",
            json!({"code": code, "label_zh": zh, "label_en": en, "max_score": max}),
            now,
        )
        .await?;
        Ok(id)
    })
}

/// Renames an item, changes its points, retires or restores it (admin). Past reviews keep the
/// points they were scored against. The last active item cannot be retired
/// (`Conflict("last_item")`): a review needs something to score.
pub async fn update_item(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    input: &ItemInput,
    now: DateTime<Utc>,
) -> Result<()> {
    admin_only(viewer)?;
    let zh = text("label_zh", &input.label_zh, false)?;
    let en = text("label_en", &input.label_en, false)?;
    let max = points(input.max_score, false)?;
    let active = input.active;
    let actor = viewer.user_id;
    in_tx!(db, |tx| async move {
        let was_active = tx
            .fetch_optional("SELECT active FROM qc_items WHERE id = $1", &[Arg::I64(id)])
            .await?
            .ok_or(StoreError::NotFound)?
            .bool(0)?;
        if was_active && active == Some(false) {
            let others = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM qc_items WHERE active = TRUE AND id <> $1",
                    &[Arg::I64(id)],
                )
                .await?
                .i64(0)?;
            if others == 0 {
                return Err(StoreError::Conflict("last_item"));
            }
        }
        tx.execute(
            "UPDATE qc_items SET label_zh = COALESCE($2, label_zh), label_en = COALESCE($3, label_en), \
             max_score = COALESCE($4, max_score) WHERE id = $1",
            &[
                Arg::I64(id),
                Arg::OptText(zh.clone()),
                Arg::OptText(en.clone()),
                Arg::OptI64(max),
            ],
        )
        .await?;
        if let Some(a) = active {
            tx.execute(
                "UPDATE qc_items SET active = $2 WHERE id = $1",
                &[Arg::I64(id), Arg::Bool(a)],
            )
            .await?;
        }
        audit_item(
            tx,
            id,
            actor,
            "update",
            json!({"label_zh": zh, "label_en": en, "max_score": max, "active": active}),
            now,
        )
        .await
    })
}

async fn audit_item(
    tx: &mut impl Tx,
    id: i64,
    actor: leadline_domain::UserId,
    action: &'static str,
    after: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "qc_item",
            entity_id: id,
            actor: Some(actor),
            action,
            before: None,
            after: Some(after),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}
