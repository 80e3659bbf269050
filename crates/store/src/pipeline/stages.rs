//! The configured lists of the pipeline: the opportunity stages (the board's columns) and the
//! reasons an opportunity is lost. Admins add, rename, reorder and retire them; a retired one
//! stays on the cards that hold it, so history keeps its name.

use chrono::{DateTime, Utc};
use leadline_domain::pipeline::Stage;
use leadline_domain::{Role, Viewer};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The longest label or code.
pub const MAX_LABEL: usize = 40;

const STAGES: &str = "SELECT id, code, label_zh, label_en, position, is_won, is_lost, active \
    FROM opportunity_stages ORDER BY position, id";

/// Every stage, retired ones included, in board order.
pub async fn stages(db: &Db) -> Result<Vec<Stage>> {
    type StageRow = (i64, String, String, String, i64, bool, bool, bool);
    let rows: Vec<StageRow> = db_run!(db, |p| { sqlx::query_as(STAGES).fetch_all(p).await? });
    Ok(rows
        .into_iter()
        .map(
            |(id, code, label_zh, label_en, position, is_won, is_lost, active)| Stage {
                id,
                code,
                label_zh,
                label_en,
                position,
                is_won,
                is_lost,
                active,
            },
        )
        .collect())
}

/// A reason an opportunity is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LostReason {
    pub id: i64,
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
    pub position: i64,
    pub active: bool,
}

/// Every lost reason, retired ones included, in list order.
pub async fn lost_reasons(db: &Db) -> Result<Vec<LostReason>> {
    Ok(db_run!(db, |p| {
        sqlx::query_as(
            "SELECT id, code, label_zh, label_en, position, active FROM lost_reasons ORDER BY position, id",
        )
        .fetch_all(p)
        .await?
    }))
}

/// Which list a change is made to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Stages,
    LostReasons,
}

impl List {
    fn table(self) -> &'static str {
        match self {
            List::Stages => "opportunity_stages",
            List::LostReasons => "lost_reasons",
        }
    }
}

/// A new entry of a list, or a change to one (`None` keeps what is there).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct EntryInput {
    pub code: Option<String>,
    pub label_zh: Option<String>,
    pub label_en: Option<String>,
    /// Stages only: closing the opportunity as won, or as lost.
    pub is_won: Option<bool>,
    pub is_lost: Option<bool>,
    pub active: Option<bool>,
}

fn label(field: &str, v: &Option<String>, required: bool) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") if required => Err(StoreError::invalid(field, "required")),
        None => Ok(None),
        Some(s) if s.is_empty() || s.chars().count() > MAX_LABEL => {
            Err(StoreError::invalid(field, "invalid"))
        }
        Some(s) => Ok(Some(s.to_string())),
    }
}

fn admin_only(viewer: &Viewer) -> Result<()> {
    if viewer.role == Role::Admin {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// Adds an entry at the end of `list` (admin). A code taken is `AlreadyExists`.
pub async fn add(
    db: &Db,
    viewer: &Viewer,
    list: List,
    input: &EntryInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    admin_only(viewer)?;
    let code = label("code", &input.code, true)?.unwrap_or_default();
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(StoreError::invalid("code", "invalid"));
    }
    let zh = label("label_zh", &input.label_zh, true)?.unwrap_or_default();
    let en = label("label_en", &input.label_en, true)?.unwrap_or_default();
    let (won, lost) = (
        input.is_won.unwrap_or(false),
        input.is_lost.unwrap_or(false),
    );
    if won && lost || list == List::LostReasons && (won || lost) {
        return Err(StoreError::invalid("is_lost", "invalid"));
    }
    let actor = viewer.user_id;
    in_tx!(db, |tx| async move {
        let table = list.table();
        let next = tx
            .fetch_one(
                &format!("SELECT COALESCE(MAX(position), 0) + 1 FROM {table}"),
                &[],
            )
            .await?
            .i64(0)?;
        let id = match list {
            List::Stages => tx
                .fetch_one_unique(
                    "INSERT INTO opportunity_stages (code, label_zh, label_en, position, is_won, is_lost, active) \
                     VALUES ($1, $2, $3, $4, $5, $6, TRUE) RETURNING id",
                    &[
                        Arg::Text(code.clone()),
                        Arg::Text(zh.clone()),
                        Arg::Text(en.clone()),
                        Arg::I64(next),
                        Arg::Bool(won),
                        Arg::Bool(lost),
                    ],
                    "code",
                )
                .await?
                .i64(0)?,
            List::LostReasons => tx
                .fetch_one_unique(
                    "INSERT INTO lost_reasons (code, label_zh, label_en, position, active) \
                     VALUES ($1, $2, $3, $4, TRUE) RETURNING id",
                    &[
                        Arg::Text(code.clone()),
                        Arg::Text(zh.clone()),
                        Arg::Text(en.clone()),
                        Arg::I64(next),
                    ],
                    "code",
                )
                .await?
                .i64(0)?,
        };
        audit_change(
            tx,
            list,
            id,
            actor,
            "create",
            json!({"code": code, "label_zh": zh, "label_en": en, "is_won": won, "is_lost": lost}),
            now,
        )
        .await?;
        Ok(id)
    })
}

/// Renames, retires or brings back an entry (admin). The last active won stage, lost stage or
/// open stage cannot be retired (`Conflict("last_stage")`): the board needs each.
pub async fn update(
    db: &Db,
    viewer: &Viewer,
    list: List,
    id: i64,
    input: &EntryInput,
    now: DateTime<Utc>,
) -> Result<()> {
    admin_only(viewer)?;
    let zh = label("label_zh", &input.label_zh, false)?;
    let en = label("label_en", &input.label_en, false)?;
    let active = input.active;
    let actor = viewer.user_id;
    in_tx!(db, |tx| async move {
        let table = list.table();
        let exists = tx
            .fetch_optional(
                &format!("SELECT active FROM {table} WHERE id = $1"),
                &[Arg::I64(id)],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        if list == List::Stages && active == Some(false) && exists.bool(0)? {
            let same_kind = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM opportunity_stages s, opportunity_stages me \
                     WHERE me.id = $1 AND s.active AND s.is_won = me.is_won AND s.is_lost = me.is_lost",
                    &[Arg::I64(id)],
                )
                .await?
                .i64(0)?;
            if same_kind <= 1 {
                return Err(StoreError::Conflict("last_stage"));
            }
        }
        tx.execute(
            &format!(
                "UPDATE {table} SET label_zh = COALESCE($2, label_zh), label_en = COALESCE($3, label_en) \
                 WHERE id = $1"
            ),
            &[Arg::I64(id), Arg::OptText(zh.clone()), Arg::OptText(en.clone())],
        )
        .await?;
        if let Some(a) = active {
            tx.execute(
                &format!("UPDATE {table} SET active = $2 WHERE id = $1"),
                &[Arg::I64(id), Arg::Bool(a)],
            )
            .await?;
        }
        audit_change(
            tx,
            list,
            id,
            actor,
            "update",
            json!({"label_zh": zh, "label_en": en, "active": active}),
            now,
        )
        .await
    })
}

/// Puts the entries of `list` in the order of `ids` (admin): every entry, each once.
pub async fn reorder(
    db: &Db,
    viewer: &Viewer,
    list: List,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<()> {
    admin_only(viewer)?;
    let mut want = ids.to_vec();
    let mut have: Vec<i64> = match list {
        List::Stages => stages(db).await?.into_iter().map(|s| s.id).collect(),
        List::LostReasons => lost_reasons(db).await?.into_iter().map(|r| r.id).collect(),
    };
    want.sort_unstable();
    have.sort_unstable();
    if want != have {
        return Err(StoreError::invalid("ids", "invalid"));
    }
    let (ids, actor) = (ids.to_vec(), viewer.user_id);
    in_tx!(db, |tx| async move {
        let table = list.table();
        for (i, id) in ids.iter().enumerate() {
            tx.execute(
                &format!("UPDATE {table} SET position = $2 WHERE id = $1"),
                &[Arg::I64(*id), Arg::I64(i as i64 + 1)],
            )
            .await?;
        }
        audit_change(tx, list, 0, actor, "reorder", json!({ "ids": ids }), now).await
    })
}

async fn audit_change(
    tx: &mut impl Tx,
    list: List,
    id: i64,
    actor: leadline_domain::UserId,
    action: &'static str,
    after: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: list.table(),
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
