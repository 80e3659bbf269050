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
    #[error("phone {phone} already belongs to lead {existing_lead}")]
    DuplicatePhone {
        phone: String,
        existing_lead: LeadId,
        existing_name: String,
        existing_owner: Option<UserId>,
        existing_owner_name: Option<String>,
    },
    #[error("already exists: {0}")]
    AlreadyExists(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldProblem>),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Internal(String),
}

impl StoreError {
    pub fn invalid(field: &str, code: &'static str) -> StoreError {
        StoreError::Invalid(vec![FieldProblem {
            field: field.to_string(),
            code,
        }])
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
