//! The collision policy (stored in settings, changed by admins) and the ledger of decided
//! cases that reports and assessment read.

use chrono::{DateTime, Utc};
use leadline_domain::ownership::CollisionPolicy;
use leadline_domain::{CaseId, Role, UserId, Viewer};
use serde::Serialize;
use serde_json::json;
use sqlx::types::Json;

use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, now, write_audit};

/// The settings key of the collision policy (JSON); unset: the regulations' defaults.
pub const POLICY_KEY: &str = "collision_policy";

/// The policy in force. A stored policy that does not parse is an error, not the default.
pub async fn policy(db: &Db) -> Result<CollisionPolicy> {
    let v: Option<Json<serde_json::Value>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(POLICY_KEY)
    .fetch_optional(pool)
    .await?);
    match v {
        None => Ok(CollisionPolicy::default()),
        Some(Json(v)) => serde_json::from_value(v).map_err(|e| StoreError::Corrupt {
            table: "settings",
            row: 0,
            what: format!("{POLICY_KEY}: {e}"),
        }),
    }
}

/// Checks a policy's figures: hours within 30 days, penalties within 100%, a period within a
/// year.
fn check(p: &CollisionPolicy) -> Result<()> {
    let mut problems = Vec::new();
    let mut bad = |field: &str, ok: bool| {
        if !ok {
            problems.push(leadline_domain::FieldProblem {
                field: field.to_string(),
                code: "out_of_range",
            });
        }
    };
    bad("settle_hours", (1..=720).contains(&p.settle_hours));
    bad("supervisor_hours", (1..=720).contains(&p.supervisor_hours));
    bad("supervisor_penalty_bp", p.supervisor_penalty_bp <= 10_000);
    bad("leadership_penalty_bp", p.leadership_penalty_bp <= 10_000);
    bad("repeat_losses", p.repeat_losses <= 100);
    bad("repeat_days", (1..=366).contains(&p.repeat_days));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(problems))
    }
}

/// Stores a new policy (admins), audited.
pub async fn set_policy(db: &Db, viewer: &Viewer, p: &CollisionPolicy) -> Result<CollisionPolicy> {
    if !viewer.role.is_admin() {
        return Err(StoreError::Forbidden);
    }
    check(p)?;
    let before = policy(db).await?;
    let at = now();
    let value = serde_json::to_value(p).map_err(|e| StoreError::Internal(e.to_string()))?;
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(POLICY_KEY)
        .bind(Json(&value))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "setting",
                entity_id: 0,
                actor: Some(viewer.user_id),
                action: "update",
                before: Some(json!({ POLICY_KEY: before })),
                after: Some(json!({ POLICY_KEY: value })),
                at
            }
        )?;
        tx.commit().await?;
    });
    Ok(*p)
}

/// One person's row of a decided case.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub case_id: CaseId,
    pub user_id: UserId,
    pub user_name: String,
    pub against_user_id: Option<UserId>,
    pub against_name: Option<String>,
    /// won | lost
    pub outcome: String,
    /// parties | supervisor | leadership
    pub stage: String,
    pub decided_by: Option<UserId>,
    pub decided_by_name: Option<String>,
    pub penalty_bp: i64,
    /// The penalty in 分 (null when the person has no base pay set).
    pub penalty_fen: Option<i64>,
    pub at: DateTime<Utc>,
    /// Replaced by a later decision of the same case (an appeal): history, no longer counted.
    pub superseded_at: Option<DateTime<Utc>>,
    /// This loss made the person a possible 恶意抢单 (repeat losses within the period).
    pub repeat_flag: bool,
}

/// Whose rows and which period.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub user: Option<UserId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The most rows one read returns, newest first.
pub const LEDGER_LIMIT: i64 = 1000;

/// The ledger as `viewer` may read it: admins every row, supervisors their teams' people (and
/// their own), everyone else their own rows; asking for someone outside that is `Forbidden`.
pub async fn ledger(db: &Db, viewer: &Viewer, filter: &LedgerFilter) -> Result<Vec<LedgerRow>> {
    let me = viewer.user_id.0;
    let scope = if viewer.role.is_admin() {
        "TRUE".to_string()
    } else if viewer.role == Role::Supervisor && !viewer.supervised_teams.is_empty() {
        let teams: Vec<String> = viewer
            .supervised_teams
            .iter()
            .map(|t| t.0.to_string())
            .collect();
        format!("(g.user_id = {me} OR u.team_id IN ({}))", teams.join(","))
    } else {
        format!("g.user_id = {me}")
    };
    if let Some(user) = filter.user
        && user != viewer.user_id
        && !viewer.role.is_admin()
    {
        let team: Option<Option<leadline_domain::TeamId>> = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT team_id FROM users WHERE id = $1"
        )
        .bind(user)
        .fetch_optional(pool)
        .await?);
        let theirs = viewer.role == Role::Supervisor
            && team
                .flatten()
                .is_some_and(|t| viewer.supervised_teams.contains(&t));
        if !theirs {
            return Err(StoreError::Forbidden);
        }
    }
    let mut conds = String::new();
    let mut n = 0;
    for (present, clause) in [
        (filter.user.is_some(), "g.user_id ="),
        (filter.from.is_some(), "g.at >="),
        (filter.to.is_some(), "g.at <"),
    ] {
        if present {
            n += 1;
            conds.push_str(&format!(" AND {clause} ${n}"));
        }
    }
    let sql = format!(
        "SELECT g.id, g.case_id, g.user_id, u.display_name AS user_name, g.against_user_id, a.display_name AS against_name, \
         g.outcome, g.stage, g.decided_by, d.display_name AS decided_by_name, CAST(g.penalty_bp AS BIGINT) AS penalty_bp, \
         g.penalty_fen, g.at, g.superseded_at, g.repeat_flag \
         FROM collision_ledger g JOIN users u ON u.id = g.user_id LEFT JOIN users a ON a.id = g.against_user_id \
         LEFT JOIN users d ON d.id = g.decided_by \
         WHERE {scope}{conds} \
         ORDER BY g.at DESC, g.id DESC LIMIT {LEDGER_LIMIT}"
    );
    Ok(db_run!(db, |pool| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        if let Some(u) = filter.user {
            q = q.bind(u);
        }
        if let Some(t) = filter.from {
            q = q.bind(t);
        }
        if let Some(t) = filter.to {
            q = q.bind(t);
        }
        q.fetch_all(pool).await?
    }))
}
