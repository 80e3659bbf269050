//! The customer reports (issue 24): new customers per rep, team or month (新开拓客户报表) and
//! the yearly customer analysis by grade, rep and revenue band (年度客户分析), over the rows
//! the viewer may read (`domain::customer_reports::scope`), in the organisation's zone.

pub mod new_customers;
#[cfg(test)]
mod tests;
pub mod yearly;

use leadline_domain::call_stats::StatsScope;
use leadline_domain::{TeamId, UserId};

use crate::{Db, Result, StoreError, db_run};

/// Refuses what the viewer may not read: nothing at all (agents: Forbidden), a team they do not
/// supervise (Forbidden), a rep outside their scope or unknown (NotFound, as the call
/// statistics answer).
pub(crate) async fn check(
    db: &Db,
    scope: &StatsScope,
    team: Option<TeamId>,
    rep: Option<UserId>,
) -> Result<()> {
    if *scope == StatsScope::Nothing {
        return Err(StoreError::Forbidden);
    }
    if let Some(team) = team
        && !scope.holds_team(team)
    {
        return Err(StoreError::Forbidden);
    }
    if let Some(rep) = rep {
        let team: Option<Option<TeamId>> = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT team_id FROM users WHERE id = $1"
        )
        .bind(rep)
        .fetch_optional(pool)
        .await?);
        match team {
            Some(team) if scope.holds_agent(rep, team) => {}
            _ => return Err(StoreError::NotFound),
        }
    }
    Ok(())
}

/// The viewer's rows and the filters as SQL over the rep's user row `u` (ids are integers:
/// formatting them in cannot inject anything).
pub(crate) fn rows_condition(
    scope: &StatsScope,
    team: Option<TeamId>,
    rep: Option<UserId>,
) -> String {
    let mut cond = crate::call_stats::report::scope_condition(scope);
    if let Some(t) = team {
        cond.push_str(&format!(" AND u.team_id = {}", t.0));
    }
    if let Some(r) = rep {
        cond.push_str(&format!(" AND u.id = {}", r.0));
    }
    cond
}
