//! Call records (the agent-workspace issue grows this); the foundation keeps history for leads.

use chrono::{DateTime, Utc};
use leadline_domain::{IntentLevel, LeadId, ScriptId, UserId};
use serde::Serialize;

use crate::call_stats::counting::Counted;
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::search::{DocKind, IndexDoc};
use crate::{Backend, Db, Result, call_stats, db_run, in_tx, index_doc};

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
/// [`crate::search::index_new_notes`]), all counted into their agents' statistics (slots and
/// days) in the same transaction.
pub async fn insert_many(db: &Db, calls: &[NewCall]) -> Result<()> {
    let snap = crate::workday::config::snapshot(db).await?;
    let counted: Vec<Counted> = calls
        .iter()
        .map(|c| {
            let disp = snap.disposition(&c.disposition).map(|d| &d.d);
            let intent = c.intent.as_deref().and_then(IntentLevel::parse);
            Counted {
                agent: c.agent_id,
                at: c.started_at,
                counts: call_stats::Counts::of_call(disp, c.duration_s, intent),
            }
        })
        .collect();
    let calls = calls.to_vec();
    in_tx!(db, |tx| insert_body(tx, calls, counted))
}

async fn insert_body(tx: &mut impl Tx, calls: Vec<NewCall>, counted: Vec<Counted>) -> Result<()> {
    for c in &calls {
        let id = tx
            .fetch_one(
                INSERT,
                &[
                    Arg::I64(c.lead_id.0),
                    Arg::I64(c.agent_id.0),
                    Arg::Time(c.started_at),
                    Arg::I64(c.duration_s),
                    Arg::Text(c.disposition.clone()),
                    Arg::OptText(c.intent.clone()),
                    Arg::Text(c.notes.clone()),
                    Arg::OptTime(c.next_revisit_at),
                    Arg::OptI64(c.script_id.map(|s| s.0)),
                ],
            )
            .await?
            .i64(0)?;
        if let (Some(doc), Some(conn)) = (
            note_doc(id, c.lead_id, c.started_at, &c.notes),
            tx.postgres(),
        ) {
            index_doc!(&mut *conn, Backend::Postgres, doc)?;
        }
    }
    call_stats::counting::count(tx, &counted).await.map(|_| ())
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
