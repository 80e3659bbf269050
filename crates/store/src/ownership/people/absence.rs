//! Absences (请假): while a person is away, the revisits and reminders about their records go to
//! the record's backup owner, else to a supervisor of their team
//! ([`leadline_domain::ownership::reminder_recipient`]). A person records their own leave; a
//! supervisor that of their team's members; an admin anyone's.

use chrono::{DateTime, Utc};
use leadline_domain::ownership::{self, Absence as Leave};
use leadline_domain::{LeadId, Role, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, write_audit};

/// The longest reason kept.
pub const MAX_REASON_CHARS: usize = 500;

/// One period of leave, from `starts_at` until `ends_at` (exclusive).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Absence {
    pub id: i64,
    pub user_id: UserId,
    pub user_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A period of leave to record.
#[derive(Debug, Clone)]
pub struct AbsenceInput {
    pub user: UserId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

const SELECT: &str = "SELECT a.id, a.user_id, u.display_name AS user_name, a.starts_at, a.ends_at, a.reason, \
    a.created_by, a.created_at FROM absences a JOIN users u ON u.id = a.user_id";

async fn team_of(db: &Db, user: UserId) -> Result<Option<Option<TeamId>>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_scalar::<_, Option<TeamId>>("SELECT team_id FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(pool)
            .await?
    }))
}

/// Whether `viewer` may record or remove the leave of `user` (of `team`).
fn may_manage(viewer: &Viewer, user: UserId, team: Option<TeamId>) -> bool {
    match viewer.role {
        Role::Admin => true,
        Role::Supervisor => {
            user == viewer.user_id || team.is_some_and(|t| viewer.supervised_teams.contains(&t))
        }
        Role::Agent | Role::Sales | Role::Finance => user == viewer.user_id,
    }
}

/// Records a period of leave. 403 for someone the viewer may not manage; 422 for an empty
/// period or an over-long reason.
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    input: &AbsenceInput,
    now: DateTime<Utc>,
) -> Result<Absence> {
    let team = team_of(db, input.user)
        .await?
        .ok_or_else(|| StoreError::invalid("user_id", "unknown_user"))?;
    if !may_manage(viewer, input.user, team) {
        return Err(StoreError::Forbidden);
    }
    if input.ends_at <= input.starts_at {
        return Err(StoreError::invalid("ends_at", "before_start"));
    }
    let reason = input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(StoreError::invalid("reason", "too_long"));
    }
    let actor = viewer.user_id;
    let id: i64 = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO absences (user_id, starts_at, ends_at, reason, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(input.user)
        .bind(input.starts_at)
        .bind(input.ends_at)
        .bind(&reason)
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "absence",
                entity_id: id,
                actor: Some(actor),
                action: "create",
                before: None,
                after: Some(json!({ "user_id": input.user, "starts_at": input.starts_at,
                    "ends_at": input.ends_at, "reason": reason })),
                at: now,
            }
        )?;
        tx.commit().await?;
        id
    });
    get(db, id).await
}

async fn get(db: &Db, id: i64) -> Result<Absence> {
    let sql = format!("{SELECT} WHERE a.id = $1");
    let row: Option<Absence> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    row.ok_or(StoreError::NotFound)
}

/// The leave the viewer may see (their own; a supervisor's teams; everyone's for an admin),
/// of `user` when given, latest first, not those ended before `since`.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    user: Option<UserId>,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Absence>> {
    let mut cond = match viewer.role {
        Role::Admin => "TRUE".to_string(),
        Role::Supervisor if !viewer.supervised_teams.is_empty() => {
            let teams: Vec<String> = viewer
                .supervised_teams
                .iter()
                .map(|t| t.0.to_string())
                .collect();
            format!(
                "(a.user_id = {} OR u.team_id IN ({}))",
                viewer.user_id.0,
                teams.join(",")
            )
        }
        _ => format!("a.user_id = {}", viewer.user_id.0),
    };
    if let Some(u) = user {
        cond.push_str(&format!(" AND a.user_id = {}", u.0));
    }
    let sql = format!(
        "{SELECT} WHERE {cond} AND a.ends_at > $1 ORDER BY a.starts_at DESC, a.id DESC LIMIT 500"
    );
    let since = since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    Ok(db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(since)
            .fetch_all(pool)
            .await?
    }))
}

/// Removes a period of leave: `NotFound` when the viewer may not see it, `Forbidden` is never
/// needed (whoever sees it may manage it).
pub async fn delete(db: &Db, viewer: &Viewer, id: i64, now: DateTime<Utc>) -> Result<()> {
    let absence = get(db, id).await?;
    let team = team_of(db, absence.user_id).await?.flatten();
    if !may_manage(viewer, absence.user_id, team) {
        return Err(StoreError::NotFound);
    }
    let actor = viewer.user_id;
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM absences WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "absence",
                entity_id: id,
                actor: Some(actor),
                action: "delete",
                before: Some(
                    json!({ "user_id": absence.user_id, "starts_at": absence.starts_at,
                    "ends_at": absence.ends_at, "reason": absence.reason })
                ),
                after: None,
                at: now,
            }
        )?;
        tx.commit().await?;
    });
    Ok(())
}

/// Who receives the revisits and reminders of `lead` at `now`: its owner, or, while the owner is
/// away, the backup owner, else a supervisor of the owner's team. `None` for a pool lead.
pub async fn reminder_recipient(
    db: &Db,
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<Option<UserId>> {
    let owner: Option<Option<UserId>> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT owner_id FROM leads WHERE id = $1")
            .bind(lead)
            .fetch_optional(pool)
            .await?
    });
    match owner.ok_or(StoreError::NotFound)? {
        Some(owner) => Ok(Some(recipient_for(db, owner, lead, now).await?)),
        None => Ok(None),
    }
}

/// Who receives what would go to `primary` about `lead` at `now` (the person a revisit was
/// scheduled for, usually the owner): `primary` unless away, then the lead's backup owner (when
/// it is not `primary`), then a supervisor of `primary`'s team.
pub async fn recipient_for(
    db: &Db,
    primary: UserId,
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<UserId> {
    let away: Vec<(DateTime<Utc>, DateTime<Utc>)> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT starts_at, ends_at FROM absences WHERE user_id = $1 AND ends_at > $2 AND starts_at <= $2",
        )
        .bind(primary)
        .bind(now)
        .fetch_all(pool)
        .await?
    });
    if away.is_empty() {
        return Ok(primary);
    }
    let leaves: Vec<Leave> = away
        .into_iter()
        .map(|(from, until)| Leave { from, until })
        .collect();
    let (backup, supervisor): (Option<UserId>, Option<UserId>) = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT (SELECT l.backup_owner_id FROM leads l JOIN users b ON b.id = l.backup_owner_id \
               WHERE l.id = $1 AND b.active = $3), \
             (SELECT MIN(ts.user_id) FROM team_supervisors ts JOIN users u ON u.team_id = ts.team_id \
               JOIN users s ON s.id = ts.user_id WHERE u.id = $2 AND s.active = $3 AND ts.user_id <> $2)",
        )
        .bind(lead)
        .bind(primary)
        .bind(true)
        .fetch_one(pool)
        .await?
    });
    let backup = backup.filter(|b| *b != primary);
    Ok(ownership::reminder_recipient(
        primary, &leaves, backup, supervisor, now,
    ))
}

/// Whether `agent` records a call on a lead as the cover of an absent colleague: they are the
/// lead's backup owner (副负责人) and the person its revisit was scheduled for (`revisit_for`)
/// is away at `now`. Covering grants recording the call even to a backup without edit rights:
/// otherwise the revisit served to them (`workday::next`) would be a dead end. In the caller's
/// transaction; asks the database only for a backup who is not that person.
pub(crate) async fn covering(
    tx: &mut impl Tx,
    agent: UserId,
    backup: Option<UserId>,
    revisit_for: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(primary) = revisit_for.filter(|p| backup == Some(agent) && *p != agent) else {
        return Ok(false);
    };
    let away = tx
        .fetch_optional(
            "SELECT 1 FROM absences WHERE user_id = $1 AND ends_at > $2 AND starts_at <= $2 LIMIT 1",
            &[Arg::I64(primary.0), Arg::Time(now)],
        )
        .await?;
    Ok(away.is_some())
}
