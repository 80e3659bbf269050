//! Changing scripts: every content edit is a new version (kept for viewing and restoring), checked
//! against the version the editor saw; sharing, pinning and deleting are audited; the search index
//! is written in the same transaction.

use leadline_domain::script::{ScriptAccess, may_pin};
use leadline_domain::{ScriptFields, ScriptId, TeamId, Viewer};
use serde_json::json;

use super::{Script, get, load};
use crate::search::{DocKind, IndexDoc};
use crate::versioned::{Versioned, check_expected, edit_conflict, finish_write, soft_delete};
use crate::{Db, Result, StoreError, db_run, now, write_audit};

/// Scripts as versioned documents.
const SCRIPTS: Versioned = Versioned {
    entity: "script",
    kind: DocKind::Script,
    current_version: "SELECT version FROM scripts WHERE id = $1",
    soft_delete: "UPDATE scripts SET deleted_at = $1, updated_at = $1, updated_by = $2 WHERE id = $3",
};

/// Unpins a script everywhere (a private or deleted script is pinned for nobody).
const UNPIN_ALL: &str = "DELETE FROM script_pins WHERE script_id = $1";

const INSERT_VERSION: &str = "INSERT INTO script_versions (script_id, version, title, category, body, edited_by, \
    edited_at, restored_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The search document of a script (private ones are indexed too; search filters by viewer).
fn index_of(id: ScriptId, f: &ScriptFields) -> IndexDoc {
    IndexDoc::new(DocKind::Script, id.0, &f.category, &f.title, &f.body)
}

fn audit_json(f: &ScriptFields, shared: bool, version: i64) -> serde_json::Value {
    json!({"title": f.title, "category": f.category, "body": f.body, "shared": shared, "version": version})
}

/// Creates a script owned by the viewer, private unless `shared`; it starts at version 1.
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    fields: &ScriptFields,
    shared: bool,
) -> Result<Script> {
    let at = now();
    let actor = viewer.user_id;
    let backend = db.backend();
    let id: ScriptId = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: ScriptId = sqlx::query_scalar(
            "INSERT INTO scripts (title, category, body, owner_id, shared, version, created_at, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $4) RETURNING id",
        )
        .bind(&fields.title)
        .bind(&fields.category)
        .bind(&fields.body)
        .bind(actor)
        .bind(shared)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(INSERT_VERSION)
            .bind(id)
            .bind(1_i64)
            .bind(&fields.title)
            .bind(&fields.category)
            .bind(&fields.body)
            .bind(actor)
            .bind(at)
            .bind(None::<i64>)
            .execute(&mut *tx)
            .await?;
        finish_write!(
            tx,
            backend,
            index_of(id, fields),
            SCRIPTS.audit(
                id.0,
                actor,
                "create",
                None,
                Some(audit_json(fields, shared, 1)),
                at
            )
        );
        id
    });
    load(db, id).await
}

/// A change to a script; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct ScriptPatch {
    pub title: Option<String>,
    pub category: Option<String>,
    pub body: Option<String>,
    pub shared: Option<bool>,
    /// The version the editor saw; another current version is an edit conflict.
    pub expected_version: Option<i64>,
}

/// The script if the viewer may change it: hidden ones are `NotFound`, shared ones of others
/// `Forbidden`.
async fn editable(db: &Db, viewer: &Viewer, id: ScriptId) -> Result<Script> {
    let s = get(db, viewer, id).await?;
    match s.access(viewer) {
        ScriptAccess::Edit => Ok(s),
        ScriptAccess::Read => Err(StoreError::Forbidden),
        ScriptAccess::Hidden => Err(StoreError::NotFound),
    }
}

/// Writes new content as the next version (restoring is the same with `restored_from` set).
async fn write_version(
    db: &Db,
    viewer: &Viewer,
    before: &Script,
    fields: &ScriptFields,
    shared: bool,
    restored_from: Option<i64>,
) -> Result<Script> {
    let at = now();
    let next = before.version + 1;
    let id = before.id;
    let backend = db.backend();
    let result: Result<()> = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE scripts SET title = $1, category = $2, body = $3, shared = $4, version = $5, updated_at = $6, \
             updated_by = $7 WHERE id = $8 AND version = $9 AND deleted_at IS NULL",
        )
        .bind(&fields.title)
        .bind(&fields.category)
        .bind(&fields.body)
        .bind(shared)
        .bind(next)
        .bind(at)
        .bind(viewer.user_id)
        .bind(id)
        .bind(before.version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(edit_conflict!(&mut *tx, SCRIPTS, id));
        }
        sqlx::query(INSERT_VERSION)
            .bind(id)
            .bind(next)
            .bind(&fields.title)
            .bind(&fields.category)
            .bind(&fields.body)
            .bind(viewer.user_id)
            .bind(at)
            .bind(restored_from)
            .execute(&mut *tx)
            .await?;
        let action = if restored_from.is_some() {
            "restore_version"
        } else {
            "update"
        };
        finish_write!(
            tx,
            backend,
            index_of(id, fields),
            SCRIPTS.audit(
                id.0,
                viewer.user_id,
                action,
                Some(before.audit_view()),
                Some(audit_json(fields, shared, next)),
                at
            )
        );
        Ok(())
    });
    result?;
    load(db, id).await
}

/// Edits a script (owner, a supervisor of the owner's team, or an admin). A stale
/// `expected_version` is `EditConflict` and nothing is written; a patch that changes nothing
/// makes no new version.
pub async fn update(db: &Db, viewer: &Viewer, id: ScriptId, patch: &ScriptPatch) -> Result<Script> {
    let before = editable(db, viewer, id).await?;
    check_expected(patch.expected_version, before.version)?;
    let fields = ScriptFields::parse(
        patch.title.as_deref().unwrap_or(&before.title),
        patch.category.as_deref().unwrap_or(&before.category),
        patch.body.as_deref().unwrap_or(&before.body),
    )
    .map_err(StoreError::Invalid)?;
    let shared = patch.shared.unwrap_or(before.shared);
    let same = fields.title == before.title
        && fields.category == before.category
        && fields.body == before.body;
    if same && shared == before.shared {
        return Ok(before);
    }
    if same {
        return set_shared(db, viewer, id, shared).await;
    }
    write_version(db, viewer, &before, &fields, shared, None).await
}

/// Brings back an older version's content as a new version (history is never rewritten).
pub async fn restore_version(
    db: &Db,
    viewer: &Viewer,
    id: ScriptId,
    version: i64,
    expected_version: Option<i64>,
) -> Result<Script> {
    let before = editable(db, viewer, id).await?;
    check_expected(expected_version, before.version)?;
    let old = super::version(db, viewer, id, version).await?;
    let fields = ScriptFields {
        title: old.title,
        category: old.category,
        body: old.body,
    };
    write_version(db, viewer, &before, &fields, before.shared, Some(version)).await
}

/// Shares a private script with everyone (or makes it private again); not a content version.
pub async fn set_shared(db: &Db, viewer: &Viewer, id: ScriptId, shared: bool) -> Result<Script> {
    let before = editable(db, viewer, id).await?;
    if before.shared == shared {
        return Ok(before);
    }
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "UPDATE scripts SET shared = $1, updated_at = $2, updated_by = $3 WHERE id = $4",
        )
        .bind(shared)
        .bind(at)
        .bind(viewer.user_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if !shared {
            // A private script cannot stay pinned for a team that may no longer read it.
            sqlx::query(UNPIN_ALL).bind(id).execute(&mut *tx).await?;
        }
        write_audit!(
            &mut *tx,
            SCRIPTS.audit(
                id.0,
                viewer.user_id,
                if shared { "share" } else { "unshare" },
                Some(json!({"shared": before.shared})),
                Some(json!({"shared": shared})),
                at
            )
        )?;
        tx.commit().await?;
    });
    load(db, id).await
}

/// Pins a shared script for a team (supervisors of that team, admins); pinning twice is a no-op.
pub async fn pin(db: &Db, viewer: &Viewer, id: ScriptId, team: TeamId) -> Result<Script> {
    set_pin(db, viewer, id, team, true).await
}

/// Removes a team's pin (the same people who may pin).
pub async fn unpin(db: &Db, viewer: &Viewer, id: ScriptId, team: TeamId) -> Result<Script> {
    set_pin(db, viewer, id, team, false).await
}

/// Pins (`pinned`) or unpins a script for a team, audited; a script already so is returned as it
/// is. Only a shared script may be pinned.
async fn set_pin(
    db: &Db,
    viewer: &Viewer,
    id: ScriptId,
    team: TeamId,
    pinned: bool,
) -> Result<Script> {
    let script = get(db, viewer, id).await?;
    if !may_pin(viewer, team) {
        return Err(StoreError::Forbidden);
    }
    if pinned && !script.shared {
        return Err(StoreError::invalid("shared", "script_private"));
    }
    if script.pinned_teams.contains(&team) == pinned {
        return Ok(script);
    }
    let at = now();
    let pin = json!({"team_id": team});
    let (action, before, after) = if pinned {
        ("pin", None, Some(pin))
    } else {
        ("unpin", Some(pin), None)
    };
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        if pinned {
            sqlx::query(
                "INSERT INTO script_pins (team_id, script_id, pinned_by, pinned_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (team_id, script_id) DO NOTHING",
            )
            .bind(team)
            .bind(id)
            .bind(viewer.user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("DELETE FROM script_pins WHERE team_id = $1 AND script_id = $2")
                .bind(team)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        write_audit!(
            &mut *tx,
            SCRIPTS.audit(id.0, viewer.user_id, action, before, after, at)
        )?;
        tx.commit().await?;
    });
    load(db, id).await
}

/// Soft-deletes a script: it leaves lists, pins and search, but calls keep pointing at it.
pub async fn delete(db: &Db, viewer: &Viewer, id: ScriptId) -> Result<()> {
    let before = editable(db, viewer, id).await?;
    soft_delete(
        db,
        &SCRIPTS,
        id.0,
        viewer.user_id,
        before.audit_view(),
        &[UNPIN_ALL],
    )
    .await
}
