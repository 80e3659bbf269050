//! Leadline's value types and business rules: pure functions, no I/O.

pub mod access;
pub mod article;
pub mod calling_hours;
// issue 24: call statistics
pub mod call_stats;
// issue 24: commission rules and the assessment bonus
pub mod commission;
pub mod company_name;
pub mod contact_match;
pub mod custom_field;
pub mod customer;
// issue 24: customer reports (new customers, the yearly analysis)
pub mod customer_reports;
pub mod dates;
pub mod disposition;
pub mod ids;
pub mod import_plan;
pub mod lead;
pub mod money;
pub mod next_call;
pub mod ownership;
pub mod phone;
pub mod pipeline;
// issue 24: call quality checks
pub mod quality;
pub mod revisit;
pub mod role;
// issue 23: sales
pub mod sales;
pub mod sales_receivables;
// issue 24: targets, reports and plans
pub mod script;
pub mod search_tokens;
pub mod targets;
pub mod typed;
// issue 27: voicemail categories, status and who may hear one
pub mod voicemail;

pub use access::{Access, Holder, LeadScope, Viewer};
pub use article::ArticleFields;
pub use custom_field::{CustomFieldDef, FieldKind, FieldProblem};
pub use ids::{
    ArticleId, CaseId, ContactId, CustomerId, DispositionId, LeadId, OpportunityId, PoolId,
    RevisitRuleId, ScriptId, TeamId, TickerId, TokenId, UserId, ViewId,
};
pub use lead::{IntentLevel, LeadDraft, LeadFields, LeadStatus};
pub use phone::{PhoneError, PhoneNumber};
pub use role::Role;
pub use script::{ScriptAccess, ScriptFields};
