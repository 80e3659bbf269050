//! The motivation ticker (F7): sentences the admin manages, and live achievements of the team
//! (qualified calls just recorded, today's totals).

use chrono::{DateTime, Utc};
use leadline_domain::{TeamId, UserId};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::call_stats::StatsDay;
use crate::workday::today::DayStats;
use crate::{Db, Result, StoreError, db_run, now, write_audit};

/// The longest ticker sentence accepted.
pub const MAX_LEN: usize = 200;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TickerMessage {
    pub id: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn list(db: &Db) -> Result<Vec<TickerMessage>> {
    Ok(db_run!(db, |pool| sqlx::query_as(
        "SELECT id, body, created_at FROM ticker_messages WHERE active ORDER BY id"
    )
    .fetch_all(pool)
    .await?))
}

pub async fn create(db: &Db, actor: UserId, body: &str) -> Result<TickerMessage> {
    let body = body.trim();
    if body.is_empty() {
        return Err(StoreError::invalid("body", "required"));
    }
    if body.chars().count() > MAX_LEN {
        return Err(StoreError::invalid("body", "too_long"));
    }
    let at = now();
    let id: i64 = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ticker_messages (body, active, created_by, created_at) VALUES ($1, TRUE, $2, $3) RETURNING id",
        )
        .bind(body)
        .bind(actor)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "ticker_message",
                entity_id: id,
                actor: Some(actor),
                action: "create",
                before: None,
                after: Some(json!({ "body": body })),
                at,
            }
        )?;
        tx.commit().await?;
        id
    });
    Ok(TickerMessage {
        id,
        body: body.to_string(),
        created_at: at,
    })
}

pub async fn delete(db: &Db, actor: UserId, id: i64) -> Result<()> {
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let body: Option<String> = sqlx::query_scalar(
            "UPDATE ticker_messages SET active = FALSE WHERE id = $1 AND active RETURNING body",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(body) = body else {
            return Err(StoreError::NotFound);
        };
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "ticker_message",
                entity_id: id,
                actor: Some(actor),
                action: "delete",
                before: Some(json!({ "body": body })),
                after: None,
                at,
            }
        )?;
        tx.commit().await?;
    });
    Ok(())
}

/// A qualified call someone on the team just recorded.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Achievement {
    pub agent_id: UserId,
    pub agent_name: String,
    pub at: DateTime<Utc>,
}

/// The team's qualified calls since `since` (the start of today), newest first.
pub async fn achievements(
    db: &Db,
    team: Option<TeamId>,
    since: DateTime<Utc>,
) -> Result<Vec<Achievement>> {
    const SQL: &str = "SELECT c.agent_id, u.display_name AS agent_name, c.started_at AS at \
        FROM calls c JOIN dispositions d ON d.code = c.disposition JOIN users u ON u.id = c.agent_id \
        WHERE d.qualified AND c.started_at >= $1 AND ($2 IS NULL OR u.team_id = $2) \
        ORDER BY c.started_at DESC, c.id DESC LIMIT 5";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(since)
        .bind(team)
        .fetch_all(pool)
        .await?))
}

/// The team's counters for `day` (every agent when `team` is `None`).
pub async fn team_totals(db: &Db, team: Option<TeamId>, day: &StatsDay) -> Result<DayStats> {
    let span = crate::call_stats::span(db, day.date, day.date, day.zone).await?;
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(s.calls), 0) AS BIGINT) AS calls, CAST(COALESCE(SUM(s.connected), 0) AS BIGINT) AS connected, \
        CAST(COALESCE(SUM(s.valid_conversations), 0) AS BIGINT) AS valid_conversations, CAST(COALESCE(SUM(s.qualified), 0) AS BIGINT) AS qualified, \
        CAST(COALESCE(SUM(s.talk_s), 0) AS BIGINT) AS talk_s \
        FROM {} s JOIN users u ON u.id = s.agent_id \
        WHERE {} AND ($3 IS NULL OR u.team_id = $3)",
        span.table,
        span.within(1, 2)
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(span.first)
        .bind(span.end)
        .bind(team)
        .fetch_one(pool)
        .await?))
}
