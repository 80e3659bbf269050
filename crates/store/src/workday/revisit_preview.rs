//! The revisit the rules would schedule for a call about to be recorded, so the call form can
//! show it prefilled (the agent may change it). Same inputs as `record_call`: the lead's attempt
//! number and time zone, the agent's team's calling hours, the revisit rules.

use chrono::{DateTime, Utc};
use leadline_domain::revisit::{self, AfterLast, Outcome};
use leadline_domain::{IntentLevel, LeadId, TeamId, Viewer, calling_hours};
use serde::Serialize;

use crate::workday::config;
use crate::{Db, Result, db_run};

#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// When the rule would call again (moved into the lead's next calling window), if at all.
    pub next_revisit_at: Option<DateTime<Utc>>,
    pub rule_id: Option<i64>,
    /// Set when this call would be the lead's last allowed attempt.
    pub after_last: Option<AfterLast>,
    pub attempt: i64,
}

/// What recording `disposition`/`intent` on the lead now would schedule; the lead must be one
/// the viewer may see.
pub async fn preview(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    disposition: &str,
    intent: Option<IntentLevel>,
    now: DateTime<Utc>,
) -> Result<Preview> {
    crate::leads::get(db, viewer, lead).await?;
    let (attempts, zone): (i64, Option<String>) = db_run!(db, |pool| sqlx::query_as(
        "SELECT attempts, timezone FROM leads WHERE id = $1"
    )
    .bind(lead)
    .fetch_one(pool)
    .await?);
    let team: Option<TeamId> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT team_id FROM users WHERE id = $1"
    )
    .bind(viewer.user_id)
    .fetch_optional(pool)
    .await?)
    .flatten();
    let hours = config::calling_hours_for(db, team).await?;
    let rules = config::revisit_rules(db).await?;
    let attempt = attempts + 1;
    let tz = calling_hours::zone(zone.as_deref());
    let outcome = revisit::next_revisit(&rules, disposition, intent, attempt, now, None);
    Ok(Preview {
        next_revisit_at: outcome
            .revisit_at()
            .map(|at| hours.next_open(at, tz).unwrap_or(at)),
        rule_id: outcome.rule_id(),
        after_last: match outcome {
            Outcome::LastAttempt { action, .. } => Some(action),
            _ => None,
        },
        attempt,
    })
}
