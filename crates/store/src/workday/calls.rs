//! Call records (the agent-workspace issue grows this); the foundation keeps history for leads.

use chrono::{DateTime, Utc};
use leadline_domain::{IntentLevel, LeadId, ScriptId, UserId};
use serde::Serialize;

use crate::search::{DocKind, IndexDoc};
use crate::{Backend, Db, Result, bind_args, call_stats, db_run, index_doc};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CallRecord {
    pub id: i64,
    pub lead_id: LeadId,
    pub agent_id: UserId,
    pub agent_name: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: i64,
    pub disposition: String,
    pub intent: Option<String>,
    pub notes: String,
    pub next_revisit_at: Option<DateTime<Utc>>,
    /// The script the agent used, if any (script usage and outcome are counted from this).
    pub script_id: Option<ScriptId>,
}

#[derive(Debug, Clone)]
pub struct NewCall {
    pub lead_id: LeadId,
    pub agent_id: UserId,
    pub started_at: DateTime<Utc>,
    pub duration_s: i64,
    pub disposition: String,
    pub intent: Option<String>,
    pub notes: String,
    pub next_revisit_at: Option<DateTime<Utc>>,
    pub script_id: Option<ScriptId>,
}

pub const INSERT: &str = "INSERT INTO calls (lead_id, agent_id, started_at, duration_s, disposition, intent, notes, next_revisit_at, script_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

/// The search document for a call's notes (none for an empty note); it is found through the
/// lead, so whoever may see the lead may find the note.
pub fn note_doc(
    call_id: i64,
    lead: LeadId,
    started_at: DateTime<Utc>,
    notes: &str,
) -> Option<IndexDoc> {
    if notes.trim().is_empty() {
        return None;
    }
    let mut doc = IndexDoc::new(DocKind::CallNote, call_id, "", "", notes);
    doc.lead_id = Some(lead);
    doc.at = started_at;
    Some(doc)
}

/// Stores many calls in one transaction (demo data, imports of history), their notes indexed
/// for search: with the calls on PostgreSQL, after them on SQLite (see
/// [`crate::search::index_new_notes`]), each counted into its agent's statistics slot in the
/// same transaction.
pub async fn insert_many(db: &Db, calls: &[NewCall]) -> Result<()> {
    let backend = db.backend();
    let snap = crate::workday::config::snapshot(db).await?;
    let counts: Vec<Vec<crate::db::sql::Arg>> = calls
        .iter()
        .map(|c| {
            let disp = snap.disposition(&c.disposition).map(|d| &d.d);
            let intent = c.intent.as_deref().and_then(IntentLevel::parse);
            let n = call_stats::Counts::of_call(disp, c.duration_s, intent);
            call_stats::count_args(c.agent_id, c.started_at, &n)
        })
        .collect();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (c, count) in calls.iter().zip(&counts) {
            bind_args!(sqlx::query(call_stats::COUNT_SLOT), count)
                .execute(&mut *tx)
                .await?;
            let id: i64 = sqlx::query_scalar(INSERT)
                .bind(c.lead_id)
                .bind(c.agent_id)
                .bind(c.started_at)
                .bind(c.duration_s)
                .bind(&c.disposition)
                .bind(c.intent.as_deref())
                .bind(&c.notes)
                .bind(c.next_revisit_at)
                .bind(c.script_id)
                .fetch_one(&mut *tx)
                .await?;
            if backend == Backend::Postgres
                && let Some(doc) = note_doc(id, c.lead_id, c.started_at, &c.notes)
            {
                index_doc!(&mut *tx, backend, doc)?;
            }
        }
        tx.commit().await?;
    });
    Ok(())
}

/// A lead's calls, newest first.
pub async fn for_lead(db: &Db, lead: LeadId) -> Result<Vec<CallRecord>> {
    const SQL: &str = "SELECT c.id, c.lead_id, c.agent_id, u.display_name AS agent_name, c.started_at, c.duration_s, \
        c.disposition, c.intent, c.notes, c.next_revisit_at, c.script_id FROM calls c JOIN users u ON u.id = c.agent_id \
        WHERE c.lead_id = $1 ORDER BY c.started_at DESC LIMIT 200";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(lead)
        .fetch_all(pool)
        .await?))
}
