//! What a call does to who owns its lead (issue 21's rules, applied inside the call's
//! transaction): a claim by a valid follow-up on a pool lead, a release by the last-attempt
//! action, and the reclaim countdown from the facts as they will be.

use chrono::{DateTime, Utc};
use leadline_domain::disposition;
use leadline_domain::ownership::{OwnedRecord, ReclaimDue, RecordKind, reclaim_due};
use leadline_domain::revisit::AfterLast;
use leadline_domain::{IntentLevel, LeadStatus, UserId};

use super::{Ctx, LeadState};
use crate::ownership;

/// What a call does to who owns the lead and to its reclaim countdown.
pub(super) struct Ownership {
    /// A valid follow-up on a pool lead made it the caller's.
    pub(super) claimed: bool,
    /// It would have, but a colleague's record holds the same customer (撞单).
    pub(super) refused: bool,
    /// The last-attempt action returned it to its pool from this owner.
    pub(super) released_from: Option<UserId>,
    pub(super) owned_since: Option<DateTime<Utc>>,
    pub(super) last_valid_at: Option<DateTime<Utc>>,
    pub(super) last_progress_at: Option<DateTime<Utc>>,
    pub(super) deal_at: Option<DateTime<Utc>>,
    pub(super) due: Option<ReclaimDue>,
}

impl Ownership {
    /// Claim by a valid follow-up on a pool lead, the owner's valid follow-up, progress and a
    /// deal, then the countdown from the facts as they will be (the rule of
    /// `ownership::countdown::due_of`, on the row the call already locked).
    pub(super) fn decide(
        ctx: &Ctx,
        lead: &LeadState,
        after_last: Option<AfterLast>,
        old_status: LeadStatus,
        status: LeadStatus,
        owner: &mut Option<UserId>,
    ) -> Ownership {
        let agent = ctx.viewer.user_id;
        let now = ctx.now;
        let valid = ctx.disp.valid_follow_up;
        let returned = after_last == Some(AfterLast::ReturnToPool);
        let would_claim = valid && !returned && lead.owner_id.is_none();
        let refused = would_claim && ctx.blocked.is_some();
        let claimed = would_claim && !refused;
        if claimed {
            *owner = Some(agent);
        }
        let released_from = if returned { lead.owner_id } else { None };
        let owned_since = match *owner {
            None => None,
            Some(_) if claimed => Some(now),
            Some(_) => lead.owned_since,
        };
        // A covering backup's valid follow-up keeps the absent owner's customer too.
        let last_valid_at = if valid && (*owner == Some(agent) || lead.covering) {
            Some(now)
        } else {
            lead.last_valid_at
        };
        let last_progress_at = if disposition::is_progress(old_status, status) {
            Some(now)
        } else {
            lead.last_progress_at
        };
        let deal_at = match lead.deal_at {
            None if status == LeadStatus::Converted => Some(now),
            d => d,
        };
        let due = match *owner {
            Some(_) if !lead.personal => reclaim_due(
                &OwnedRecord {
                    kind: RecordKind::of(lead.company.as_deref()),
                    intent: ctx
                        .input
                        .intent
                        .or_else(|| lead.intent.as_deref().and_then(IntentLevel::parse)),
                    grade: None,
                    source: lead.source.clone(),
                    owned_since: owned_since.unwrap_or(lead.created_at),
                    last_valid_follow_up: last_valid_at,
                    last_progress: last_progress_at,
                    has_deal: deal_at.is_some(),
                    protected_until: lead.protected_until,
                },
                &ctx.snap.reclaim_rules,
            ),
            _ => None,
        };
        Ownership {
            claimed,
            refused,
            released_from,
            owned_since,
            last_valid_at,
            last_progress_at,
            deal_at,
            due,
        }
    }

    /// The ownership event this call writes, if the owner changed.
    pub(super) fn event(&self, ctx: &Ctx, lead: &LeadState) -> Option<ownership::events::Event> {
        use ownership::events::{Action, Event};
        let agent = ctx.viewer.user_id;
        let base = |action| Event {
            actor: Some(agent),
            pool: lead.pool_id,
            ..Event::new(ctx.input.lead_id, ctx.now, action)
        };
        if self.claimed {
            Some(Event {
                to: Some(agent),
                reason: Some("call".into()),
                ..base(Action::Claim)
            })
        } else {
            self.released_from.map(|from| Event {
                from: Some(from),
                reason: Some("attempts".into()),
                ..base(Action::Release)
            })
        }
    }
}
