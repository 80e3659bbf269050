//! The one mapping from failures to HTTP: a status and a stable snake_case code the UI translates.
//! 5xx responses log the cause and say nothing internal.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadline_domain::FieldProblem;
use leadline_domain::ownership::ClaimRefusal;
use leadline_store::StoreError;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign-in required")]
    Unauthenticated,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many failed attempts; try again later")]
    Throttled,
    #[error("too many exports running; wait for one to finish")]
    TooManyExports,
    #[error("the form expired or did not come from this site")]
    Csrf,
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("request too large")]
    PayloadTooLarge,
    /// A request refused by a rule of the present state (409), with its code.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A part this request needs does not run here (503), with its code (issue 27: the call
    /// service).
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Throttled | AppError::TooManyExports => StatusCode::TOO_MANY_REQUESTS,
            AppError::Csrf | AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Store(e) => match e {
                StoreError::NotFound => StatusCode::NOT_FOUND,
                StoreError::Forbidden => StatusCode::FORBIDDEN,
                StoreError::EditConflict { .. }
                | StoreError::DuplicatePhone(_)
                | StoreError::AlreadyExists(_)
                | StoreError::ClaimLost
                | StoreError::ClaimRefused(_)
                | StoreError::ClaimReferred { .. }
                | StoreError::Conflict(_) => StatusCode::CONFLICT,
                StoreError::Invalid(_) | StoreError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
                StoreError::Corrupt { .. }
                | StoreError::Database(_)
                | StoreError::Migrate(_)
                | StoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// The stable code clients and the interface key on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Throttled => "too_many_attempts",
            AppError::TooManyExports => "too_many_exports",
            AppError::Csrf => "csrf_failed",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::BadRequest(code) | AppError::Conflict(code) | AppError::Unavailable(code) => {
                code
            }
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::Internal(_) => "internal_error",
            AppError::Store(e) => match e {
                StoreError::NotFound => "not_found",
                StoreError::Forbidden => "forbidden",
                StoreError::EditConflict { .. } => "edit_conflict",
                StoreError::DuplicatePhone(_) => "duplicate_phone",
                StoreError::AlreadyExists(_) => "already_exists",
                StoreError::Conflict(code) | StoreError::Refused(code) => code,
                StoreError::ClaimLost => "job_taken_over",
                StoreError::ClaimRefused(r) => r.code(),
                StoreError::ClaimReferred { .. } => "already_owned",
                StoreError::Invalid(_) => "invalid_input",
                StoreError::Corrupt { .. } => "stored_value_invalid",
                StoreError::Database(_) | StoreError::Migrate(_) | StoreError::Internal(_) => {
                    "internal_error"
                }
            },
        }
    }

    /// Details a client can act on: which fields are wrong, which lead holds a phone.
    pub fn details(&self) -> Value {
        match self {
            AppError::Store(StoreError::Invalid(problems)) => json!({ "problems": problems }),
            AppError::Store(StoreError::EditConflict { current }) => {
                json!({ "current_version": current })
            }
            // The holder's id and name only for those who may see it (`existing_lead` is null
            // otherwise); its owner and since when for anyone.
            AppError::Store(StoreError::DuplicatePhone(d)) => json!({
                "phone": d.phone,
                "existing_lead": d.existing_lead.map(|id| json!({ "id": id, "name": d.existing_name,
                    "owner_id": d.existing_owner, "owner_name": d.existing_owner_name })),
                "owner": { "id": d.existing_owner, "name": d.existing_owner_name },
                "owner_since": d.owner_since,
            }),
            AppError::Store(StoreError::AlreadyExists(what)) => json!({ "what": what }),
            AppError::Store(StoreError::ClaimRefused(r)) => match r {
                ClaimRefusal::Cooldown { until } => json!({ "until": until }),
                ClaimRefusal::DailyLimit => json!({ "limit": "per_day" }),
                ClaimRefusal::HeldLimit => json!({ "limit": "held_at_once" }),
                ClaimRefusal::AlreadyOwned => Value::Null,
            },
            // Issue 22: the lead went to the owner of the customer who referred it.
            AppError::Store(StoreError::ClaimReferred { owner, owner_name }) => json!({
                "owner": { "id": owner, "name": owner_name },
                "reason": "referral",
            }),
            _ => Value::Null,
        }
    }

    pub fn problems(&self) -> &[FieldProblem] {
        match self {
            AppError::Store(StoreError::Invalid(p)) => p,
            _ => &[],
        }
    }

    /// Logs server-side failures once, with their cause (for a stored value that does not
    /// parse, also its table and row as fields, so that an operator can find and mend it).
    pub fn log(&self) {
        match self {
            AppError::Store(StoreError::Corrupt { table, row, what }) => {
                tracing::error!(table, row, what, error = %self, "request failed: stored value invalid");
            }
            _ if self.status().is_server_error() => {
                tracing::error!(error = %self, "request failed");
            }
            _ => {}
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let message = crate::i18n::Lang::En.error_message(&self);
        let body = json!({
            "code": self.code(),
            "error": self.code(),
            "message": message,
            "details": self.details(),
        });
        (self.status(), Json(body)).into_response()
    }
}

/// Import failures: a file or option problem is the client's (its stable code), storage is ours.
impl From<leadline_engine::import_run::RunError> for AppError {
    fn from(e: leadline_engine::import_run::RunError) -> AppError {
        use leadline_engine::import_run::RunError;
        use leadline_import::ImportError;
        match e {
            RunError::Store(e) => AppError::Store(e),
            RunError::BadOptions(code) => AppError::BadRequest(code),
            RunError::Import(ImportError::Io(io)) => AppError::Internal(io.to_string()),
            RunError::Import(ImportError::FileTooLarge { .. }) => AppError::PayloadTooLarge,
            // Named by its cell (`B7`), so that the user can find and shorten it.
            RunError::Import(ImportError::CellTooLarge { part, cell, .. }) => {
                AppError::Store(StoreError::Invalid(vec![FieldProblem {
                    field: cell.unwrap_or(part),
                    code: "cell_too_large",
                }]))
            }
            RunError::Import(e) => AppError::BadRequest(e.code()),
        }
    }
}

pub type ApiResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    /// A damaged stored value is our failure: a 500 with its own code, worded in both languages
    /// without naming the table, the row or the value (those go to the log).
    #[test]
    fn a_stored_value_that_does_not_parse_is_a_generic_500_in_both_languages() {
        let err = AppError::Store(StoreError::corrupt("leads", 7, "status \"bogus\""));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.code(), "stored_value_invalid");
        assert!(err.to_string().contains("leads row 7"), "{err}");
        let (zh, en) = (Lang::Zh.error_message(&err), Lang::En.error_message(&err));
        assert_ne!(zh, en, "each language has its words");
        for m in [&zh, &en] {
            assert!(
                m != "?" && !m.contains("leads") && !m.contains("bogus"),
                "{m}"
            );
        }
    }
}
