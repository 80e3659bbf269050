//! Admin-defined custom fields for leads.

use leadline_domain::{CustomFieldDef, FieldKind, UserId};
use serde_json::json;
use sqlx::types::Json;

use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, now, write_audit};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    key: String,
    label_zh: String,
    label_en: String,
    kind: String,
    required: bool,
    options: Json<Vec<String>>,
}

/// All fields in display order.
pub async fn list(db: &Db) -> Result<Vec<CustomFieldDef>> {
    const SQL: &str = "SELECT id, key, label_zh, label_en, kind, required, options FROM custom_fields ORDER BY position, id";
    let rows: Vec<Row> = db_run!(db, |pool| sqlx::query_as(SQL).fetch_all(pool).await?);
    rows.into_iter()
        .map(|r| {
            // Not quietly `Text`: a field's kind decides how its values are checked and filtered.
            let kind = FieldKind::parse(&r.kind).ok_or_else(|| {
                StoreError::corrupt(
                    "custom_fields",
                    r.id,
                    format!("kind {:?} is not a field kind", r.kind),
                )
            })?;
            Ok(CustomFieldDef {
                key: r.key,
                label_zh: r.label_zh,
                label_en: r.label_en,
                kind,
                required: r.required,
                options: r.options.0,
            })
        })
        .collect()
}

/// Adds a field after checking its key, labels and options.
/// Adds a field; its key, derived from the label when none was given, is returned.
pub async fn create(db: &Db, def: &CustomFieldDef, actor: Option<UserId>) -> Result<String> {
    let derived;
    let def = if def.key.trim().is_empty() {
        // No key typed: one derived from the label (issue 25).
        let next: i64 = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT COALESCE(MAX(id), 0) + 1 FROM custom_fields"
        )
        .fetch_one(pool)
        .await?);
        derived = CustomFieldDef {
            key: CustomFieldDef::key_from_label(&def.label_en, next),
            ..def.clone()
        };
        &derived
    } else {
        def
    };
    if !CustomFieldDef::valid_key(&def.key) {
        return Err(StoreError::invalid("key", "bad_key"));
    }
    if def.label_zh.trim().is_empty() {
        return Err(StoreError::invalid("label_zh", "required"));
    }
    if def.kind.has_options() && def.options.iter().all(|o| o.trim().is_empty()) {
        return Err(StoreError::invalid("options", "required"));
    }
    let options: Vec<String> = def
        .options
        .iter()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO custom_fields (key, label_zh, label_en, kind, required, options, position, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, (SELECT COALESCE(MAX(position), 0) + 1 FROM custom_fields), $7) RETURNING id",
        )
        .bind(&def.key)
        .bind(def.label_zh.trim())
        .bind(def.label_en.trim())
        .bind(def.kind.code())
        .bind(def.required)
        .bind(Json(&options))
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique_as(e, "custom_field"))?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "custom_field",
                entity_id: id,
                actor,
                action: "create",
                before: None,
                after: Some(
                    json!({"key": def.key, "label_zh": def.label_zh, "label_en": def.label_en,
                "kind": def.kind, "required": def.required, "options": options})
                ),
                at,
            }
        )?;
        tx.commit().await?;
    });
    Ok(def.key.clone())
}

/// Removes a field definition; values already stored on leads are kept in their JSON.
pub async fn delete(db: &Db, key: &str, actor: Option<UserId>) -> Result<()> {
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: Option<i64> =
            sqlx::query_scalar("DELETE FROM custom_fields WHERE key = $1 RETURNING id")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(id) = id else {
            return Err(StoreError::NotFound);
        };
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "custom_field",
                entity_id: id,
                actor,
                action: "delete",
                before: Some(json!({"key": key})),
                after: None,
                at,
            }
        )?;
        tx.commit().await?;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::sql::{Arg, execute};
    use crate::db::test_db::TestDb;

    /// A stored field kind that does not parse is an error naming `custom_fields` and the row,
    /// never `Text` (which would accept and filter any value).
    #[tokio::test]
    async fn a_stored_kind_that_does_not_parse_is_an_error_naming_its_row() {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        let def = CustomFieldDef {
            key: "budget".into(),
            label_zh: "预算".into(),
            label_en: "Budget".into(),
            kind: FieldKind::Number,
            required: false,
            options: Vec::new(),
        };
        create(db, &def, None).await.unwrap();
        assert_eq!(list(db).await.unwrap()[0].kind, FieldKind::Number);
        execute(
            db,
            "UPDATE custom_fields SET kind = 'currency' WHERE key = $1",
            vec![Arg::Text("budget".into())],
        )
        .await
        .unwrap();
        let id: i64 = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM custom_fields WHERE key = 'budget'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        match list(db).await {
            Err(StoreError::Corrupt { table, row, what }) => {
                assert_eq!((table, row), ("custom_fields", id));
                assert!(what.contains("currency"), "{what}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}
