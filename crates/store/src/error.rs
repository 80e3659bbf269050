//! Typed storage errors; the web layer maps each to a status and a stable code.

use leadline_domain::{FieldProblem, LeadId, UserId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    #[error("the record was changed by someone else (now at version {current})")]
    EditConflict { current: i64 },
    /// A number another lead holds (boxed: the error stays small on every other path).
    #[error("phone {} already belongs to another lead", .0.phone)]
    DuplicatePhone(Box<DuplicatePhone>),
    #[error("already exists: {0}")]
    AlreadyExists(&'static str),
    /// The record is not in a state that allows this (409, with this stable code, e.g.
    /// `already_owned`: someone else owns it; `case_closed`: a collision case no longer open; `pool_not_empty`).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldProblem>),
    /// A well-formed request a rule refuses as it stands (422, with this stable code, e.g.
    /// `overpayment`: a payment beyond what the order still owes).
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A value read back from the database does not parse: the row was written by something
    /// other than this program's checked paths (a manual edit, a bad migration). It is an error
    /// rather than a default so that a wrong value is never shown or saved back as if it were true.
    #[error("stored value invalid in {table} row {row}: {what}")]
    Corrupt {
        table: &'static str,
        row: i64,
        what: String,
    },
    #[error("{0}")]
    Internal(String),
    /// A claim (领取) the limits refuse: someone else owns the lead, a cap is reached, or the
    /// claimant gave it up too recently (issue 22).
    #[error("claim refused: {}", .0.code())]
    ClaimRefused(leadline_domain::ownership::ClaimRefusal),
    /// A claimed pool lead names a referrer whose owner now has it (老客户带来的新客户仍属于原销售
    /// 人员): 409 `already_owned` for the claimant, naming that owner.
    #[error("claim refused: the lead went to {owner_name}, owner of the customer who referred it")]
    ClaimReferred { owner: UserId, owner_name: String },
    /// This server no longer holds the job it was running: another server took it over.
    #[error("the job was taken over by another server")]
    ClaimLost,
}

/// A number another lead holds. Its id and name are given only to someone who may see that lead;
/// anyone is told who owns it and since when (the 撞单 rule: whose customer it is).
#[derive(Debug)]
pub struct DuplicatePhone {
    pub phone: String,
    pub existing_lead: Option<LeadId>,
    pub existing_name: Option<String>,
    pub existing_owner: Option<UserId>,
    pub existing_owner_name: Option<String>,
    /// Since when the owner (or the pool) holds the lead.
    pub owner_since: chrono::DateTime<chrono::Utc>,
}

impl StoreError {
    pub fn invalid(field: &str, code: &'static str) -> StoreError {
        StoreError::Invalid(vec![FieldProblem {
            field: field.to_string(),
            code,
        }])
    }

    /// A stored value in `table`'s row `row` that does not parse; `what` says which and why.
    pub fn corrupt(table: &'static str, row: i64, what: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            table,
            row,
            what: what.to_string(),
        }
    }

    /// Turns a unique-constraint violation into `AlreadyExists(what)`, leaving other errors alone.
    pub fn unique_as(err: sqlx::Error, what: &'static str) -> StoreError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::AlreadyExists(what)
            }
            _ => StoreError::Database(err),
        }
    }
}
