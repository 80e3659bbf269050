//! The next call's vocabulary: the tiers a lead is served from and the statuses never served
//! again. The order itself — due revisits (oldest first), today's plan (in plan order), fresh
//! leads (highest priority, then oldest id), skipping leads the agent may not see, deleted or
//! closed ones, numbers on the do-not-call list, leads over their attempt limit, outside their
//! calling window or reserved by another agent — lives in one place only: the store's
//! select-and-reserve statements (`leadline_store::workday::next`), tested through the API in
//! `crates/web/tests/it/next_call.rs`.

use crate::LeadStatus;

/// Statuses that are never served again.
pub const CLOSED: [LeadStatus; 4] = [
    LeadStatus::InvalidNumber,
    LeadStatus::DoNotCall,
    LeadStatus::Converted,
    LeadStatus::Qualified,
];

/// A status that is never served again: a lead in it keeps no revisit (issue 25).
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

#[cfg(test)]
mod tests {
    use super::Tier;

    #[test]
    fn tier_codes() {
        assert_eq!(Tier::DueRevisit.code(), "revisit");
        assert_eq!(Tier::Plan.code(), "plan");
        assert_eq!(Tier::Fresh.code(), "fresh");
    }
}
