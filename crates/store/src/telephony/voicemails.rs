//! Voicemails (issue 27): stored with the category the caller chose, heard by admins and by the
//! person one is passed to; an admin re-files it (category, responsible person, note) and the
//! responsible person marks it done. Every change names the version it was made on, is audited,
//! and passing one on notifies the person in the same transaction.

use chrono::{DateTime, Utc};
use leadline_domain::voicemail::{
    self, Filing, NOTE_MAX_CHARS, Refiling, VoicemailCategory, VoicemailStatus,
};
use leadline_domain::{Role, UserId, Viewer};
use serde::Serialize;
use serde_json::{Value, json};

use super::LIST_LIMIT;
use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, write_audit};

/// The notification kind of a voicemail passed to someone.
pub const VOICEMAIL_PASSED: &str = "voicemail_passed";

/// A voicemail without its recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Voicemail {
    pub id: i64,
    pub caller: String,
    /// The current filing.
    pub category: String,
    /// What the caller chose in the IVR.
    pub caller_category: String,
    pub duration_ms: i64,
    pub created_at: DateTime<Utc>,
    /// `new`, `passed` or `done`.
    pub status: String,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub note: String,
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Voicemail {
    /// How it is filed, checked: a status this program never writes is `Corrupt`.
    pub fn filing(&self) -> Result<Filing> {
        let status = VoicemailStatus::parse(&self.status).ok_or_else(|| {
            StoreError::corrupt("voicemails", self.id, format!("status {:?}", self.status))
        })?;
        Ok(Filing {
            category: self.category.clone(),
            assignee: self.assignee_id,
            note: self.note.clone(),
            status,
        })
    }
}

/// Which voicemails a list shows (besides who may see them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VoicemailFilter {
    pub status: Option<VoicemailStatus>,
    pub category: Option<VoicemailCategory>,
}

const SELECT: &str = "SELECT v.id, v.caller, v.category, v.caller_category, v.duration_ms, \
    v.created_at, v.status, v.assignee_id, u.display_name AS assignee_name, v.note, v.version, \
    v.updated_at FROM voicemails v LEFT JOIN users u ON u.id = v.assignee_id";

/// Stores a voicemail and its recording, filed under the caller's category.
pub async fn record_voicemail(
    db: &Db,
    sip_call_id: &str,
    caller: &str,
    category: &str,
    duration_ms: i64,
    audio: &[u8],
    now: DateTime<Utc>,
) -> Result<i64> {
    const SQL: &str = "INSERT INTO voicemails (sip_call_id, caller, category, caller_category, \
        duration_ms, audio, created_at) VALUES ($1, $2, $3, $3, $4, $5, $6) RETURNING id";
    Ok(db_run!(db, |pool| sqlx::query_scalar(SQL)
        .bind(sip_call_id)
        .bind(caller)
        .bind(category)
        .bind(duration_ms)
        .bind(audio)
        .bind(now)
        .fetch_one(pool)
        .await?))
}

/// Voicemails newest first, without their recordings: all of them for admins, for anyone else
/// those passed to them.
pub async fn list_voicemails(
    db: &Db,
    viewer: &Viewer,
    filter: &VoicemailFilter,
) -> Result<Vec<Voicemail>> {
    // Every condition is always present, switched off by a NULL, so the text stays one statement.
    let sql = format!(
        "{SELECT} WHERE ($1 OR v.assignee_id = $2) AND ($3 IS NULL OR v.status = $3) \
         AND ($4 IS NULL OR v.category = $4) ORDER BY v.created_at DESC, v.id DESC LIMIT $5"
    );
    let all = viewer.role == Role::Admin;
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(all)
        .bind(viewer.user_id)
        .bind(filter.status.map(VoicemailStatus::as_str))
        .bind(filter.category.map(VoicemailCategory::as_str))
        .bind(LIST_LIMIT)
        .fetch_all(pool)
        .await?))
}

/// Whether anyone passed `user` a voicemail (their navigation then links the list).
pub async fn has_passed_voicemails(db: &Db, user: UserId) -> Result<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM voicemails WHERE assignee_id = $1 \
        LIMIT 1) AS one";
    let n: i64 = db_run!(db, |pool| sqlx::query_scalar(SQL)
        .bind(user)
        .fetch_one(pool)
        .await?);
    Ok(n > 0)
}

/// One voicemail, whoever asks.
pub async fn get_voicemail(db: &Db, id: i64) -> Result<Voicemail> {
    let sql = format!("{SELECT} WHERE v.id = $1");
    let row: Option<Voicemail> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?);
    row.ok_or(StoreError::NotFound)
}

/// One voicemail for `viewer`: `Forbidden` unless they may hear it.
pub async fn voicemail_for(db: &Db, viewer: &Viewer, id: i64) -> Result<Voicemail> {
    let v = get_voicemail(db, id).await?;
    if !voicemail::may_hear(viewer.role, viewer.user_id, &v.filing()?) {
        return Err(StoreError::Forbidden);
    }
    Ok(v)
}

/// A voicemail's recording (WAV).
pub async fn voicemail_audio(db: &Db, id: i64) -> Result<Option<Vec<u8>>> {
    const SQL: &str = "SELECT audio FROM voicemails WHERE id = $1";
    Ok(db_run!(db, |pool| sqlx::query_scalar(SQL)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// A voicemail's recording for `viewer`: `NotFound`, or `Forbidden` unless they may hear it.
pub async fn audio_for(db: &Db, viewer: &Viewer, id: i64) -> Result<Vec<u8>> {
    voicemail_for(db, viewer, id).await?;
    voicemail_audio(db, id).await?.ok_or(StoreError::NotFound)
}

/// An admin's re-filing of voicemail `id`, made on version `expected_version`. Naming a person
/// passes it to them and notifies them. A stale version is `EditConflict`, unless the voicemail
/// already is as this change would leave it: that is the same submit arriving twice, and it is
/// answered with the voicemail as it is, with nothing written again.
pub async fn refile(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    change: &Refiling,
    expected_version: i64,
    now: DateTime<Utc>,
) -> Result<Voicemail> {
    if viewer.role != Role::Admin {
        return Err(StoreError::Forbidden);
    }
    if let Some(note) = &change.note
        && note.chars().count() > NOTE_MAX_CHARS
    {
        return Err(StoreError::invalid("note", "too_long"));
    }
    if let Some(assignee) = change.assignee {
        check_assignee(db, assignee).await?;
    }
    let before = get_voicemail(db, id).await?;
    let (next, tell) = before.filing()?.refiled(change);
    write(
        db,
        viewer.user_id,
        &before,
        &next,
        tell,
        "refile",
        expected_version,
        now,
    )
    .await
}

/// Marks voicemail `id` dealt with (admins, or the person it was passed to), made on version
/// `expected_version`; done twice is done once.
pub async fn mark_done(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    expected_version: i64,
    now: DateTime<Utc>,
) -> Result<Voicemail> {
    let before = get_voicemail(db, id).await?;
    let filing = before.filing()?;
    if !voicemail::may_hear(viewer.role, viewer.user_id, &filing) {
        return Err(StoreError::Forbidden);
    }
    if !voicemail::may_mark_done(viewer.role, viewer.user_id, &filing) {
        return Err(StoreError::Conflict("voicemail_not_passed"));
    }
    let next = filing.done();
    write(
        db,
        viewer.user_id,
        &before,
        &next,
        false,
        "done",
        expected_version,
        now,
    )
    .await
}

/// A person a voicemail may be passed to: an active user.
async fn check_assignee(db: &Db, user: UserId) -> Result<()> {
    const SQL: &str = "SELECT COUNT(*) FROM users WHERE id = $1 AND active";
    let n: i64 = db_run!(db, |pool| sqlx::query_scalar(SQL)
        .bind(user)
        .fetch_one(pool)
        .await?);
    if n == 0 {
        return Err(StoreError::invalid("assignee_id", "unknown_user"));
    }
    Ok(())
}

fn audit_view(f: &Filing, version: i64) -> Value {
    json!({
        "category": f.category,
        "assignee_id": f.assignee,
        "note": f.note,
        "status": f.status.as_str(),
        "version": version,
    })
}

/// Writes `next` over `before` if the voicemail is still at `expected_version`: the row, the
/// audit entry and, when `tell`, the assignee's notification, in one transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "one private write shared by two edits"
)]
async fn write(
    db: &Db,
    actor: UserId,
    before: &Voicemail,
    next: &Filing,
    tell: bool,
    action: &'static str,
    expected_version: i64,
    now: DateTime<Utc>,
) -> Result<Voicemail> {
    const UPDATE: &str = "UPDATE voicemails SET category = $1, assignee_id = $2, note = $3, \
        status = $4, version = version + 1, updated_at = $5 WHERE id = $6 AND version = $7";
    const NOTIFY: &str =
        "INSERT INTO notifications (user_id, kind, payload, created_at) VALUES ($1, $2, $3, $4)";
    let id = before.id;
    let current = before.filing()?;
    if expected_version != before.version {
        return unchanged_or_conflict(before, next);
    }
    if current == *next {
        // Nothing to change: no version, no audit entry, nobody told.
        return Ok(before.clone());
    }
    let audit = AuditEntry {
        entity: "voicemail",
        entity_id: id,
        actor: Some(actor),
        action,
        before: Some(audit_view(&current, before.version)),
        after: Some(audit_view(next, before.version + 1)),
        at: now,
    };
    let payload = json!({
        "voicemail_id": id,
        "category": next.category,
        "caller": before.caller,
    });
    let written: bool = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query(UPDATE)
            .bind(&next.category)
            .bind(next.assignee)
            .bind(&next.note)
            .bind(next.status.as_str())
            .bind(now)
            .bind(id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            false
        } else {
            write_audit!(&mut *tx, audit)?;
            if tell && let Some(user) = next.assignee {
                sqlx::query(NOTIFY)
                    .bind(user)
                    .bind(VOICEMAIL_PASSED)
                    .bind(sqlx::types::Json(&payload))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            true
        }
    });
    if !written {
        // Another write came between the read and this one.
        let now_there = get_voicemail(db, id).await?;
        return unchanged_or_conflict(&now_there, next);
    }
    if tell {
        crate::notify::announce(db, crate::notify::Change::notice(next.assignee));
    }
    get_voicemail(db, id).await
}

/// The answer to a change made on a stale version: the voicemail as it is when it already says
/// what the change would (the same submit twice), else `EditConflict`.
fn unchanged_or_conflict(current: &Voicemail, next: &Filing) -> Result<Voicemail> {
    if current.filing()? == *next {
        Ok(current.clone())
    } else {
        Err(StoreError::EditConflict {
            current: current.version,
        })
    }
}
