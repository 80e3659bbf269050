//! An agent's day at a glance: the target, the calls counted so far (the day's slots of
//! `call_stats`, kept by `record_call`), and the revisits that are due or overdue.

use chrono::{DateTime, TimeDelta, Utc};
use leadline_domain::{LeadId, UserId};
use serde::Serialize;

use crate::call_stats::StatsDay;
use crate::{Db, Result, db_run};

/// The daily call target of an agent whose supervisor has set none.
pub const DEFAULT_DAILY_TARGET: i64 = 60;
/// A revisit this long past its time is overdue (flagged to the supervisor).
pub const OVERDUE_AFTER: TimeDelta = TimeDelta::minutes(30);

#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct DayStats {
    pub calls: i64,
    pub connected: i64,
    pub valid_conversations: i64,
    pub qualified: i64,
    pub talk_s: i64,
}

/// One agent's counters for `day` (in the organisation's zone).
pub async fn stats(db: &Db, agent: UserId, day: &StatsDay) -> Result<DayStats> {
    let c = crate::call_stats::agent_day(db, agent, day).await?;
    Ok(DayStats {
        calls: c.calls,
        connected: c.connected,
        valid_conversations: c.valid_conversations,
        qualified: c.qualified,
        talk_s: c.talk_s,
    })
}

/// The agent's daily call target.
pub async fn target(db: &Db, agent: UserId) -> Result<i64> {
    let t: Option<i64> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT daily_calls FROM agent_targets WHERE agent_id = $1"
    )
    .bind(agent)
    .fetch_optional(pool)
    .await?);
    Ok(t.unwrap_or(DEFAULT_DAILY_TARGET))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Revisit {
    pub lead_id: LeadId,
    pub name: String,
    pub company: Option<String>,
    pub due_at: DateTime<Utc>,
    pub agent_id: UserId,
}

impl Revisit {
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.due_at < now - OVERDUE_AFTER
    }
}

/// Every overdue revisit of the given agents (all agents when `agents` is `None`), oldest first.
pub async fn overdue(
    db: &Db,
    agents: Option<&[UserId]>,
    now: DateTime<Utc>,
) -> Result<Vec<Revisit>> {
    // Ids are integers: formatting them into the text cannot inject anything.
    let only = match agents {
        None => String::new(),
        Some([]) => return Ok(Vec::new()),
        Some(ids) => {
            let list: Vec<String> = ids.iter().map(|i| i.0.to_string()).collect();
            format!(" AND revisit_agent_id IN ({})", list.join(","))
        }
    };
    let sql = format!(
        "SELECT id AS lead_id, name, company, next_revisit_at AS due_at, revisit_agent_id AS agent_id \
         FROM leads WHERE revisit_agent_id IS NOT NULL AND next_revisit_at < $1 AND deleted_at IS NULL{only} \
         ORDER BY next_revisit_at, id LIMIT 500"
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now - OVERDUE_AFTER)
        .fetch_all(pool)
        .await?))
}

/// The id of the agent's newest call (0 when none): event streams announce calls after it.
pub async fn latest_call_id(db: &Db, agent: UserId) -> Result<i64> {
    Ok(db_run!(db, |pool| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(id) FROM calls WHERE agent_id = $1"
    )
    .bind(agent)
    .fetch_one(pool)
    .await?
    .unwrap_or(0)))
}
