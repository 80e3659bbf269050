//! The supervisor's live view: each agent's counters for today against the target, per-team
//! totals, and the overdue revisits to chase.

use leadline_domain::{Role, TeamId, UserId, Viewer};
use serde::Serialize;

use crate::call_stats::{Span, StatsDay};
use crate::workday::today::{DEFAULT_DAILY_TARGET, DayStats};

/// Each agent's sums over the day's rollup rows (`$1`..`$2`).
fn day_sums(span: &Span) -> String {
    format!(
        "SELECT s.agent_id, SUM(s.calls) AS calls, SUM(s.connected) AS connected, \
         SUM(s.valid_conversations) AS valid_conversations, SUM(s.qualified) AS qualified, \
         SUM(s.talk_s) AS talk_s FROM {} s WHERE {} GROUP BY s.agent_id",
        span.table,
        span.within(1, 2)
    )
}
use crate::{Db, Result, StoreError, db_run};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AgentToday {
    pub agent_id: UserId,
    pub name: String,
    pub team_id: Option<TeamId>,
    pub team_name: Option<String>,
    pub target: i64,
    pub calls: i64,
    pub connected: i64,
    pub valid_conversations: i64,
    pub qualified: i64,
    pub talk_s: i64,
}

impl AgentToday {
    /// Calls made as a share of the target, in whole percent.
    pub fn progress_pct(&self) -> i64 {
        if self.target <= 0 {
            0
        } else {
            self.calls * 100 / self.target
        }
    }

    pub fn stats(&self) -> DayStats {
        DayStats {
            calls: self.calls,
            connected: self.connected,
            valid_conversations: self.valid_conversations,
            qualified: self.qualified,
            talk_s: self.talk_s,
        }
    }
}

/// The teams a viewer watches: every team for the admin, the supervised ones for a supervisor;
/// anyone else is refused.
pub fn watched_teams(viewer: &Viewer) -> Result<Option<Vec<TeamId>>> {
    match viewer.role {
        Role::Admin => Ok(None),
        Role::Supervisor => Ok(Some(viewer.supervised_teams.clone())),
        Role::Agent | Role::Sales | Role::Finance => Err(StoreError::Forbidden),
    }
}

/// The condition on `u.team_id` that keeps the viewer's teams (empty for the admin), or `None`
/// when the viewer watches no team at all.
fn team_condition(viewer: &Viewer) -> Result<Option<String>> {
    // Team ids are integers: formatting them into the text cannot inject anything.
    Ok(match watched_teams(viewer)? {
        None => Some(String::new()),
        Some(t) if t.is_empty() => None,
        Some(t) => {
            let list: Vec<String> = t.iter().map(|i| i.0.to_string()).collect();
            Some(format!(" AND u.team_id IN ({})", list.join(",")))
        }
    })
}

/// Every active agent of the watched teams with today's counters (`day` in the organisation's zone).
pub async fn agents_today(db: &Db, viewer: &Viewer, day: &StatsDay) -> Result<Vec<AgentToday>> {
    let Some(only) = team_condition(viewer)? else {
        return Ok(Vec::new());
    };
    let span = crate::call_stats::span(db, day.date, day.date, day.zone).await?;
    let day_sums = day_sums(&span);
    let sql = format!(
        "SELECT u.id AS agent_id, u.display_name AS name, u.team_id, t.name AS team_name, \
         COALESCE(g.daily_calls, {DEFAULT_DAILY_TARGET}) AS target, \
         CAST(COALESCE(s.calls, 0) AS BIGINT) AS calls, CAST(COALESCE(s.connected, 0) AS BIGINT) AS connected, \
         CAST(COALESCE(s.valid_conversations, 0) AS BIGINT) AS valid_conversations, CAST(COALESCE(s.qualified, 0) AS BIGINT) AS qualified, \
         CAST(COALESCE(s.talk_s, 0) AS BIGINT) AS talk_s \
         FROM users u LEFT JOIN teams t ON t.id = u.team_id \
         LEFT JOIN agent_targets g ON g.agent_id = u.id \
         LEFT JOIN ({day_sums}) s ON s.agent_id = u.id \
         WHERE u.role = 'agent' AND u.active{only} ORDER BY t.name, u.display_name, u.id"
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(span.first)
        .bind(span.end)
        .fetch_all(pool)
        .await?))
}

/// A cheap fingerprint of what the live view shows for a viewer: the watched agents, their
/// targets and today's counters, summed. Any recorded call, new target or agent joining or
/// leaving changes it; the live stream reads it about once a second and rebuilds the view only
/// when it moved. It lives in the database, so every app server sees the same marker.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct LiveMarker {
    pub agents: i64,
    pub agent_ids: i64,
    pub targets: i64,
    pub calls: i64,
    pub connected: i64,
    pub valid_conversations: i64,
    pub qualified: i64,
    pub talk_s: i64,
}

/// The viewer's [`LiveMarker`] for `day` (refused to agents and sales reps, as the view is).
pub async fn change_marker(db: &Db, viewer: &Viewer, day: &StatsDay) -> Result<LiveMarker> {
    let Some(only) = team_condition(viewer)? else {
        return Ok(LiveMarker::default());
    };
    let span = crate::call_stats::span(db, day.date, day.date, day.zone).await?;
    let day_sums = day_sums(&span);
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS agents, CAST(COALESCE(SUM(u.id), 0) AS BIGINT) AS agent_ids, \
         CAST(COALESCE(SUM(COALESCE(g.daily_calls, {DEFAULT_DAILY_TARGET})), 0) AS BIGINT) AS targets, \
         CAST(COALESCE(SUM(s.calls), 0) AS BIGINT) AS calls, CAST(COALESCE(SUM(s.connected), 0) AS BIGINT) AS connected, \
         CAST(COALESCE(SUM(s.valid_conversations), 0) AS BIGINT) AS valid_conversations, \
         CAST(COALESCE(SUM(s.qualified), 0) AS BIGINT) AS qualified, CAST(COALESCE(SUM(s.talk_s), 0) AS BIGINT) AS talk_s \
         FROM users u LEFT JOIN agent_targets g ON g.agent_id = u.id \
         LEFT JOIN ({day_sums}) s ON s.agent_id = u.id \
         WHERE u.role = 'agent' AND u.active{only}"
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(span.first)
        .bind(span.end)
        .fetch_one(pool)
        .await?))
}

/// A team's sums over its agents' rows.
#[derive(Debug, Clone, Serialize)]
pub struct TeamTotals {
    pub team_id: Option<TeamId>,
    pub team_name: Option<String>,
    pub agents: usize,
    pub target: i64,
    pub stats: DayStats,
}

/// Sums the agent rows per team, in the order the teams first appear.
pub fn team_totals(agents: &[AgentToday]) -> Vec<TeamTotals> {
    let mut out: Vec<TeamTotals> = Vec::new();
    for a in agents {
        let i = match out.iter().position(|t| t.team_id == a.team_id) {
            Some(i) => i,
            None => {
                out.push(TeamTotals {
                    team_id: a.team_id,
                    team_name: a.team_name.clone(),
                    agents: 0,
                    target: 0,
                    stats: DayStats::default(),
                });
                out.len() - 1
            }
        };
        let t = &mut out[i];
        t.agents += 1;
        t.target += a.target;
        t.stats.calls += a.calls;
        t.stats.connected += a.connected;
        t.stats.valid_conversations += a.valid_conversations;
        t.stats.qualified += a.qualified;
        t.stats.talk_s += a.talk_s;
    }
    out
}
