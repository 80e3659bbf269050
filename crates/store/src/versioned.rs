//! What scripts and knowledge-base articles share as versioned documents: an edit names the
//! version it was made on and conflicts with any other, a delete is a stamp that takes the
//! document out of search, and every change is an audit entry of the document's kind.

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use serde_json::Value;

use crate::audit::AuditEntry;
use crate::search::DocKind;
use crate::{Db, Result, StoreError, db_run, now, unindex_doc, write_audit};

/// A table of versioned documents and the names it goes by in the audit trail and in search.
pub(crate) struct Versioned {
    /// The audit trail's `entity`.
    pub entity: &'static str,
    pub kind: DocKind,
    /// The current version of row `$1`, read when an edit matched no row.
    pub current_version: &'static str,
    /// Stamps row `$3` deleted at `$1` by `$2`.
    pub soft_delete: &'static str,
}

impl Versioned {
    /// The audit entry of a change to document `id`.
    pub fn audit(
        &self,
        id: i64,
        actor: UserId,
        action: &'static str,
        before: Option<Value>,
        after: Option<Value>,
        at: DateTime<Utc>,
    ) -> AuditEntry {
        AuditEntry {
            entity: self.entity,
            entity_id: id,
            actor: Some(actor),
            action,
            before,
            after,
            at,
        }
    }
}

/// Refuses an edit made on another version than the current one (nothing is written).
pub(crate) fn check_expected(expected: Option<i64>, current: i64) -> Result<()> {
    match expected {
        Some(v) if v != current => Err(StoreError::EditConflict { current }),
        _ => Ok(()),
    }
}

/// The conflict to answer when an edit's `UPDATE … WHERE version = <the one read>` changed no
/// row: someone else wrote a version meanwhile (`$conn` is the edit's transaction).
macro_rules! edit_conflict {
    ($conn:expr, $docs:expr, $id:expr) => {{
        let current: i64 = sqlx::query_scalar($docs.current_version)
            .bind($id)
            .fetch_one($conn)
            .await?;
        $crate::StoreError::EditConflict { current }
    }};
}
pub(crate) use edit_conflict;

/// Ends a document's write on its transaction `$tx`: the search document, the audit entry, the
/// commit.
macro_rules! finish_write {
    ($tx:ident, $backend:expr, $doc:expr, $audit:expr) => {{
        $crate::index_doc!(&mut *$tx, $backend, $doc)?;
        $crate::write_audit!(&mut *$tx, $audit)?;
        $tx.commit().await?;
    }};
}
pub(crate) use finish_write;

/// Soft-deletes document `id` in one transaction: the stamp, then each of `also` (statements on
/// `$1` = the id, such as a script's pins), its search document and the audit entry.
pub(crate) async fn soft_delete(
    db: &Db,
    docs: &Versioned,
    id: i64,
    actor: UserId,
    before: Value,
    also: &[&'static str],
) -> Result<()> {
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(docs.soft_delete)
            .bind(at)
            .bind(actor)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for sql in also {
            sqlx::query(*sql).bind(id).execute(&mut *tx).await?;
        }
        unindex_doc!(&mut *tx, docs.kind, id)?;
        write_audit!(
            &mut *tx,
            docs.audit(id, actor, "delete", Some(before), None, at)
        )?;
        tx.commit().await?;
    });
    Ok(())
}

/// Ids as a SQL list (`1,2,3`) for reading the parts of many documents in one statement; they
/// are numbers, so nothing can be injected through them.
pub(crate) fn id_list(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}
