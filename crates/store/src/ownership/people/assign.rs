//! Assigning and transferring leads (分配 / 转移), one or up to [`MAX_BATCH`] at once, by
//! supervisors (within their teams) and admins: to one person, or dealt in turn over a team's
//! active agents (round robin). A lead the caller may not see is refused by id, as `not_found`
//! (its existence is not revealed); the rest move in one transaction.

use chrono::{DateTime, Utc};
use leadline_domain::ownership::ReclaimRule;
use leadline_domain::{Access, LeadId, Role, TeamId, UserId, Viewer};
use serde::Serialize;

use super::{Move, held, move_owner, person};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::ownership::events::Action;
use crate::workday::config;
use crate::{Db, Result, StoreError, in_tx};

/// The most leads one request moves.
pub const MAX_BATCH: usize = 1000;

/// Who the leads go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignTarget {
    Person(UserId),
    /// In turn over the team's active agents, in the order of their ids.
    RoundRobin(TeamId),
}

/// A lead left where it was, and why (`not_found`: missing, deleted or hidden from the
/// caller; `read_only`: the caller may only read it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refused {
    pub lead_id: LeadId,
    pub code: &'static str,
}

/// What a batch did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct AssignOutcome {
    /// Leads that moved, with their new owner.
    pub assigned: Vec<(LeadId, UserId)>,
    /// Leads already owned by their target: nothing to do.
    pub unchanged: Vec<LeadId>,
    pub refused: Vec<Refused>,
}

/// Assigns `leads` to `target`. Agents and sales reps are `Forbidden`, and so is a target the
/// caller may not assign to (another team's person or team); an unknown or inactive person, a
/// team without active agents, no leads or more than [`MAX_BATCH`] are 422.
pub async fn assign(
    db: &Db,
    viewer: &Viewer,
    leads: &[LeadId],
    target: AssignTarget,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<AssignOutcome> {
    if !viewer.role.manages_leads() {
        return Err(StoreError::Forbidden);
    }
    if leads.is_empty() {
        return Err(StoreError::invalid("lead_ids", "required"));
    }
    if leads.len() > MAX_BATCH {
        return Err(StoreError::invalid("lead_ids", "too_many"));
    }
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reason.as_deref().is_some_and(|r| r.chars().count() > 500) {
        return Err(StoreError::invalid("reason", "too_long"));
    }
    let mut ids = Vec::with_capacity(leads.len());
    for id in leads {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    let rules = config::snapshot(db).await?.reclaim_rules.clone();
    let viewer = viewer.clone();
    in_tx!(db, |tx| assign_body(
        tx, viewer, rules, ids, target, reason, now
    ))
}

async fn targets(tx: &mut impl Tx, viewer: &Viewer, target: AssignTarget) -> Result<Vec<UserId>> {
    match target {
        AssignTarget::Person(user) => {
            let Some((_, team)) = person(tx, user).await? else {
                return Err(StoreError::invalid("to_user_id", "unknown_user"));
            };
            if !viewer.may_assign_to(Some(user), team) {
                return Err(StoreError::Forbidden);
            }
            Ok(vec![user])
        }
        AssignTarget::RoundRobin(team) => {
            if viewer.role != Role::Admin && !viewer.supervised_teams.contains(&team) {
                return Err(StoreError::Forbidden);
            }
            // Fetched one by one: the SQLite writer's rows come back one at a time.
            let mut agents = Vec::new();
            let mut after = 0;
            while let Some(row) = tx
                .fetch_optional(
                    "SELECT id FROM users WHERE team_id = $1 AND role = $2 AND active = $3 AND id > $4 ORDER BY id LIMIT 1",
                    &[
                        Arg::I64(team.0),
                        Arg::Text(Role::Agent.as_str().into()),
                        Arg::Bool(true),
                        Arg::I64(after),
                    ],
                )
                .await?
            {
                after = row.i64(0)?;
                agents.push(UserId(after));
            }
            if agents.is_empty() {
                return Err(StoreError::invalid("round_robin_team_id", "no_agents"));
            }
            Ok(agents)
        }
    }
}

async fn assign_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    rules: Vec<ReclaimRule>,
    ids: Vec<LeadId>,
    target: AssignTarget,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<AssignOutcome> {
    let people = targets(tx, &viewer, target).await?;
    let mut out = AssignOutcome::default();
    let mut turn = 0;
    for lead in ids {
        let h = match held(tx, lead).await {
            Ok(h) => h,
            Err(StoreError::NotFound) => {
                out.refused.push(Refused {
                    lead_id: lead,
                    code: "not_found",
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        match viewer.access(&h.holder) {
            _ if h.deleted => {
                out.refused.push(Refused {
                    lead_id: lead,
                    code: "not_found",
                });
                continue;
            }
            Access::Hidden => {
                out.refused.push(Refused {
                    lead_id: lead,
                    code: "not_found",
                });
                continue;
            }
            Access::Read => {
                out.refused.push(Refused {
                    lead_id: lead,
                    code: "read_only",
                });
                continue;
            }
            Access::Edit => {}
        }
        let to = people[turn % people.len()];
        turn += 1;
        if h.holder.owner == Some(to) {
            out.unchanged.push(lead);
            continue;
        }
        let action = if h.holder.owner.is_some() {
            Action::Transfer
        } else {
            Action::Assign
        };
        move_owner(
            tx,
            &rules,
            &Move {
                lead,
                from: h.holder.owner,
                to,
                action,
                actor: viewer.user_id,
                reason: reason.clone(),
                at: now,
            },
        )
        .await?;
        out.assigned.push((lead, to));
    }
    Ok(out)
}
