//! Notifications: the durable record of a delivered reminder. A reminder job writes one row (its
//! `job_id` is unique, so a job run twice notifies once); each server streams a user's new rows to
//! that user's open workspace, whichever server wrote them.

use chrono::{DateTime, Utc};
use leadline_domain::{LeadId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;

use crate::jobs::Job;
use crate::{Db, Result, StoreError, db_run};

pub const REVISIT_DUE: &str = "revisit_due";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    pub user_id: UserId,
    pub kind: String,
    pub lead_id: Option<LeadId>,
    pub lead_name: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// A reclaim warning: how many days are left (`ownership::reclaim::pass`).
    pub days: Option<i64>,
    /// A reclaim: the rule that fired, its basis and days (`reclaim_rules`).
    pub rule_basis: Option<String>,
    pub rule_days: Option<i64>,
    /// A sales notice (discount request or decision, payment due or overdue): its order.
    pub order_id: Option<i64>,
    /// A discount decision: `approved` or `rejected`.
    pub outcome: Option<String>,
    /// A quality check of a call (issue 24): the call and its points out of the possible.
    pub call_id: Option<i64>,
    pub score: Option<i64>,
    pub max_score: Option<i64>,
    /// A daily report notice: the statistics day it names (`YYYY-MM-DD`, as written).
    pub day: Option<String>,
    /// A voicemail passed to the user (issue 27).
    pub voicemail_id: Option<i64>,
}

/// What `record_call` puts in a revisit reminder job.
#[derive(Debug, Clone, Deserialize)]
pub struct RevisitPayload {
    pub lead_id: LeadId,
    pub agent_id: UserId,
    #[serde(default)]
    pub call_id: Option<i64>,
}

/// Runs a revisit reminder: writes the agent's notification unless the lead was called again
/// since the call that scheduled it (the reminder is then obsolete). Idempotent: running it twice
/// leaves one notification. Returns the user to wake, if a notification was written now.
pub async fn deliver_revisit(db: &Db, job: &Job, now: DateTime<Utc>) -> Result<Option<UserId>> {
    let p: RevisitPayload = serde_json::from_value(job.payload.0.clone())
        .map_err(|e| StoreError::Internal(format!("revisit job {}: {e}", job.id)))?;
    const LATER_CALL: &str = "SELECT COUNT(*) FROM calls WHERE lead_id = $1 AND id > $2";
    const INSERT: &str = "INSERT INTO notifications (user_id, kind, lead_id, job_id, payload, due_at, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id) DO NOTHING RETURNING id";
    let written: Option<i64> = db_run!(db, |pool| {
        let later: i64 = match p.call_id {
            Some(call) => {
                sqlx::query_scalar(LATER_CALL)
                    .bind(p.lead_id)
                    .bind(call)
                    .fetch_one(pool)
                    .await?
            }
            None => 0,
        };
        if later > 0 {
            None
        } else {
            sqlx::query_scalar(INSERT)
                .bind(p.agent_id)
                .bind(REVISIT_DUE)
                .bind(p.lead_id)
                .bind(job.id)
                .bind(Json(json!({ "call_id": p.call_id })))
                .bind(job.run_at)
                .bind(now)
                .fetch_optional(pool)
                .await?
        }
    });
    if written.is_some() {
        crate::notify::announce(db, crate::notify::Change::notice(Some(p.agent_id)));
    }
    Ok(written.map(|_| p.agent_id))
}

const SELECT: &str = "SELECT n.id, n.user_id, n.kind, n.lead_id, l.name AS lead_name, n.due_at, n.created_at, \
    CAST(n.payload ->> 'days' AS BIGINT) AS days, r.basis AS rule_basis, CAST(r.days AS BIGINT) AS rule_days, \
    CAST(n.payload ->> 'order_id' AS BIGINT) AS order_id, n.payload ->> 'status' AS outcome, \
    CAST(n.payload ->> 'call_id' AS BIGINT) AS call_id, CAST(n.payload ->> 'score' AS BIGINT) AS score, \
    CAST(n.payload ->> 'max_score' AS BIGINT) AS max_score, \
    n.payload ->> 'day' AS day, CAST(n.payload ->> 'voicemail_id' AS BIGINT) AS voicemail_id FROM notifications n LEFT JOIN leads l ON l.id = n.lead_id \
    LEFT JOIN reclaim_rules r ON r.id = CAST(n.payload ->> 'rule_id' AS BIGINT)";

/// A user's notifications after `after_id`, oldest first.
pub async fn after(db: &Db, user: UserId, after_id: i64) -> Result<Vec<Notification>> {
    let sql = format!("{SELECT} WHERE n.user_id = $1 AND n.id > $2 ORDER BY n.id LIMIT 100");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .bind(after_id)
        .fetch_all(pool)
        .await?))
}

/// A user's notifications not yet shown on any screen, oldest first.
pub async fn undelivered(db: &Db, user: UserId) -> Result<Vec<Notification>> {
    let sql =
        format!("{SELECT} WHERE n.user_id = $1 AND n.delivered_at IS NULL ORDER BY n.id LIMIT 100");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .fetch_all(pool)
        .await?))
}

/// The newest notification id of a user (0 when none): a stream starts after it.
pub async fn latest_id(db: &Db, user: UserId) -> Result<i64> {
    Ok(db_run!(db, |pool| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(id) FROM notifications WHERE user_id = $1"
    )
    .bind(user)
    .fetch_one(pool)
    .await?
    .unwrap_or(0)))
}

/// Notes that notifications reached a screen.
pub async fn mark_delivered(db: &Db, user: UserId, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
    for id in ids {
        db_run!(db, |pool| {
            sqlx::query(
            "UPDATE notifications SET delivered_at = $3 WHERE id = $1 AND user_id = $2 AND delivered_at IS NULL"
        )
        .bind(id)
        .bind(user)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
        });
    }
    Ok(())
}

/// How many notifications a job left (tests check it is exactly one).
pub async fn count_for_job(db: &Db, job_id: i64) -> Result<i64> {
    Ok(db_run!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE job_id = $1"
    )
    .bind(job_id)
    .fetch_one(pool)
    .await?))
}

/// Serialisable shape streamed to the workspace.
pub fn event_json(n: &Notification) -> Value {
    json!({
        "id": n.id, "kind": n.kind, "lead_id": n.lead_id, "lead_name": n.lead_name,
        "due_at": n.due_at, "created_at": n.created_at, "days": n.days,
        "rule_basis": n.rule_basis, "rule_days": n.rule_days,
    })
}
