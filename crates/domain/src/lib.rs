//! Leadline's value types and business rules: pure functions, no I/O.

pub mod access;
pub mod custom_field;
pub mod ids;
pub mod lead;
pub mod phone;
pub mod role;
pub mod search_tokens;

pub use access::{Access, Viewer};
pub use custom_field::{CustomFieldDef, FieldKind, FieldProblem};
pub use ids::{LeadId, TeamId, UserId};
pub use lead::{IntentLevel, LeadDraft, LeadFields, LeadStatus};
pub use phone::{PhoneError, PhoneNumber};
pub use role::Role;
