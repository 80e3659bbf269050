//! Typed identifiers, so that a lead id cannot be passed where a user id is expected.

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($name:ident) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            Serialize,
            Deserialize,
            sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(LeadId);
typed_id!(UserId);
typed_id!(TeamId);
typed_id!(ScriptId);
typed_id!(ArticleId);
typed_id!(ImportJobId);
typed_id!(UploadId);
typed_id!(PoolId);
typed_id!(CaseId);
// issue 23: customers
typed_id!(CustomerId);
typed_id!(ContactId);
typed_id!(OpportunityId);
// Ids that so far appear only at the HTTP edge (the store still takes their `i64`): a saved
// view, an API token, a call disposition, a revisit rule and a ticker message.
typed_id!(ViewId);
typed_id!(TokenId);
typed_id!(DispositionId);
typed_id!(RevisitRuleId);
typed_id!(TickerId);
