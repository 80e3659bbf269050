//! Which lead an agent calls next: due revisits first (oldest first), then today's plan (in
//! plan order), then fresh leads (highest priority first, then oldest id) — skipping leads the
//! agent may not see, deleted or closed ones, numbers on the do-not-call list, leads over their
//! attempt limit, outside their calling window, or reserved by another agent.
//!
//! The store runs the same rules in SQL (one statement that selects and reserves); this module is
//! their reference, unit-tested branch by branch, and the store's tests check it agrees.

use chrono::{DateTime, Utc};

use crate::{LeadId, LeadStatus, UserId};

/// Statuses that are never served again.
pub const CLOSED: [LeadStatus; 4] = [
    LeadStatus::InvalidNumber,
    LeadStatus::DoNotCall,
    LeadStatus::Converted,
    LeadStatus::Qualified,
];

pub fn is_closed(status: LeadStatus) -> bool {
    CLOSED.contains(&status)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    DueRevisit,
    Plan,
    Fresh,
}

impl Tier {
    pub fn code(self) -> &'static str {
        match self {
            Tier::DueRevisit => "revisit",
            Tier::Plan => "plan",
            Tier::Fresh => "fresh",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    Deleted,
    Invisible,
    Closed,
    DoNotCall,
    OverAttemptLimit,
    OutsideWindow,
    ReservedByOther,
    /// Not due, not planned today and not fresh: nothing to call about now.
    NotServable,
}

/// What the rules need to know about one lead.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: LeadId,
    /// Whether the agent may see the lead (the `Viewer` rule: own leads and the pool).
    pub visible: bool,
    pub deleted: bool,
    pub status: LeadStatus,
    pub attempts: i64,
    pub next_revisit_at: Option<DateTime<Utc>>,
    pub revisit_agent: Option<UserId>,
    pub reserved_by: Option<UserId>,
    pub reserved_until: Option<DateTime<Utc>>,
    pub priority: i64,
    /// Any of the lead's numbers is on the do-not-call list.
    pub dnc: bool,
    /// Now is inside the lead's calling window (in its zone).
    pub callable_now: bool,
    /// Position in the agent's plan for today, if planned and not done.
    pub plan_position: Option<i64>,
}

pub struct Context {
    pub agent: UserId,
    pub now: DateTime<Utc>,
    pub max_attempts: i64,
}

/// The tier a lead is served from for this agent, if any.
pub fn tier(c: &Candidate, ctx: &Context) -> Option<Tier> {
    let due = c.next_revisit_at.is_some_and(|t| t <= ctx.now)
        && c.revisit_agent.is_none_or(|a| a == ctx.agent);
    if due {
        Some(Tier::DueRevisit)
    } else if c.plan_position.is_some() {
        Some(Tier::Plan)
    } else if c.status == LeadStatus::New {
        Some(Tier::Fresh)
    } else {
        None
    }
}

/// Why a lead is not served to this agent now (None: it may be served).
pub fn skip_reason(c: &Candidate, ctx: &Context) -> Option<Skip> {
    let assigned_revisit = c.revisit_agent == Some(ctx.agent);
    if c.deleted {
        Some(Skip::Deleted)
    } else if !c.visible && !assigned_revisit {
        Some(Skip::Invisible)
    } else if is_closed(c.status) {
        Some(Skip::Closed)
    } else if c.dnc {
        Some(Skip::DoNotCall)
    } else if c.attempts >= ctx.max_attempts {
        Some(Skip::OverAttemptLimit)
    } else if c.reserved_by.is_some_and(|r| r != ctx.agent)
        && c.reserved_until.is_some_and(|u| u > ctx.now)
    {
        Some(Skip::ReservedByOther)
    } else if !c.callable_now {
        Some(Skip::OutsideWindow)
    } else if tier(c, ctx).is_none() {
        Some(Skip::NotServable)
    } else {
        None
    }
}

/// The order within and across tiers; smaller is served first.
fn sort_key(c: &Candidate, tier: Tier) -> (Tier, Option<DateTime<Utc>>, i64, i64, i64) {
    match tier {
        Tier::DueRevisit => (tier, c.next_revisit_at, 0, 0, c.id.0),
        Tier::Plan => (tier, None, c.plan_position.unwrap_or(0), 0, c.id.0),
        Tier::Fresh => (tier, None, 0, -c.priority, c.id.0),
    }
}

/// The lead to serve next, with its tier.
pub fn choose<'a>(candidates: &'a [Candidate], ctx: &Context) -> Option<(&'a Candidate, Tier)> {
    candidates
        .iter()
        .filter(|c| skip_reason(c, ctx).is_none())
        .filter_map(|c| tier(c, ctx).map(|t| (c, t)))
        .min_by_key(|(c, t)| sort_key(c, *t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const ME: UserId = UserId(1);
    const OTHER: UserId = UserId(2);

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
    }
    fn ctx() -> Context {
        Context {
            agent: ME,
            now: now(),
            max_attempts: 6,
        }
    }
    fn fresh(id: i64, priority: i64) -> Candidate {
        Candidate {
            id: LeadId(id),
            visible: true,
            deleted: false,
            status: LeadStatus::New,
            attempts: 0,
            next_revisit_at: None,
            revisit_agent: None,
            reserved_by: None,
            reserved_until: None,
            priority,
            dnc: false,
            callable_now: true,
            plan_position: None,
        }
    }
    fn due(id: i64, ago_min: i64) -> Candidate {
        Candidate {
            status: LeadStatus::CallBack,
            attempts: 1,
            next_revisit_at: Some(now() - Duration::minutes(ago_min)),
            revisit_agent: Some(ME),
            ..fresh(id, 0)
        }
    }
    fn planned(id: i64, pos: i64) -> Candidate {
        Candidate {
            status: LeadStatus::Contacted,
            plan_position: Some(pos),
            ..fresh(id, 0)
        }
    }
    fn first(c: &[Candidate]) -> Option<i64> {
        choose(c, &ctx()).map(|(c, _)| c.id.0)
    }

    #[test]
    fn due_revisits_come_first_oldest_first() {
        let c = vec![fresh(1, 100), planned(2, 0), due(3, 5), due(4, 60)];
        assert_eq!(first(&c), Some(4));
        assert_eq!(choose(&c, &ctx()).map(|(_, t)| t), Some(Tier::DueRevisit));
    }

    #[test]
    fn then_the_plan_in_order_then_fresh_by_priority() {
        let c = vec![fresh(1, 100), planned(5, 2), planned(6, 1)];
        assert_eq!(first(&c), Some(6));
        let c = vec![fresh(1, 1), fresh(2, 9), fresh(3, 9)];
        assert_eq!(first(&c), Some(2), "highest priority, then lowest id");
        assert_eq!(choose(&c, &ctx()).map(|(_, t)| t.code()), Some("fresh"));
    }

    #[test]
    fn a_revisit_not_yet_due_waits() {
        let mut later = due(3, 0);
        later.next_revisit_at = Some(now() + Duration::minutes(1));
        assert_eq!(tier(&later, &ctx()), None);
        assert_eq!(skip_reason(&later, &ctx()), Some(Skip::NotServable));
        assert_eq!(
            tier(&due(3, 0), &ctx()),
            Some(Tier::DueRevisit),
            "due exactly now"
        );
    }

    #[test]
    fn another_agents_revisit_is_theirs() {
        let mut theirs = due(3, 10);
        theirs.revisit_agent = Some(OTHER);
        assert_eq!(tier(&theirs, &ctx()), None);
        let mut unassigned = due(3, 10);
        unassigned.revisit_agent = None;
        assert_eq!(tier(&unassigned, &ctx()), Some(Tier::DueRevisit));
    }

    #[test]
    fn every_skip_rule() {
        let ok = fresh(1, 0);
        assert_eq!(skip_reason(&ok, &ctx()), None);
        let cases: Vec<(Candidate, Skip)> = vec![
            (
                Candidate {
                    deleted: true,
                    ..ok.clone()
                },
                Skip::Deleted,
            ),
            (
                Candidate {
                    visible: false,
                    ..ok.clone()
                },
                Skip::Invisible,
            ),
            (
                Candidate {
                    status: LeadStatus::DoNotCall,
                    ..ok.clone()
                },
                Skip::Closed,
            ),
            (
                Candidate {
                    status: LeadStatus::InvalidNumber,
                    ..ok.clone()
                },
                Skip::Closed,
            ),
            (
                Candidate {
                    status: LeadStatus::Converted,
                    ..ok.clone()
                },
                Skip::Closed,
            ),
            (
                Candidate {
                    status: LeadStatus::Qualified,
                    ..ok.clone()
                },
                Skip::Closed,
            ),
            (
                Candidate {
                    dnc: true,
                    ..ok.clone()
                },
                Skip::DoNotCall,
            ),
            (
                Candidate {
                    attempts: 6,
                    ..ok.clone()
                },
                Skip::OverAttemptLimit,
            ),
            (
                Candidate {
                    reserved_by: Some(OTHER),
                    reserved_until: Some(now() + Duration::minutes(1)),
                    ..ok.clone()
                },
                Skip::ReservedByOther,
            ),
            (
                Candidate {
                    callable_now: false,
                    ..ok.clone()
                },
                Skip::OutsideWindow,
            ),
            (
                Candidate {
                    status: LeadStatus::Contacted,
                    ..ok.clone()
                },
                Skip::NotServable,
            ),
        ];
        for (c, skip) in cases {
            assert_eq!(skip_reason(&c, &ctx()), Some(skip));
            assert_eq!(
                choose(std::slice::from_ref(&c), &ctx()).map(|(c, _)| c.id),
                None,
                "{skip:?}"
            );
        }
    }

    #[test]
    fn reservations_expire_and_own_reservations_do_not_block() {
        let expired = Candidate {
            reserved_by: Some(OTHER),
            reserved_until: Some(now()),
            ..fresh(1, 0)
        };
        assert_eq!(skip_reason(&expired, &ctx()), None, "expired at now");
        let mine = Candidate {
            reserved_by: Some(ME),
            reserved_until: Some(now() + Duration::minutes(5)),
            ..fresh(1, 0)
        };
        assert_eq!(skip_reason(&mine, &ctx()), None);
    }

    #[test]
    fn an_assigned_revisit_is_served_even_if_the_lead_left_the_agent() {
        let c = Candidate {
            visible: false,
            ..due(3, 10)
        };
        assert_eq!(skip_reason(&c, &ctx()), None);
    }

    #[test]
    fn skipped_leads_fall_through_to_the_next_tier() {
        let c = vec![
            Candidate {
                dnc: true,
                ..due(1, 60)
            },
            Candidate {
                callable_now: false,
                ..planned(2, 0)
            },
            fresh(3, 0),
        ];
        assert_eq!(first(&c), Some(3));
        assert_eq!(first(&[]), None);
        assert!(is_closed(LeadStatus::DoNotCall));
        assert!(!is_closed(LeadStatus::CallBack));
        assert_eq!(Tier::DueRevisit.code(), "revisit");
        assert_eq!(Tier::Plan.code(), "plan");
    }
}
